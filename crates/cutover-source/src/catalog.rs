//! What the engines' catalogues say about a table beyond its columns' kinds: nullability,
//! defaults, keys, indexes, foreign keys and the estimated row count. `cutover init` pairs
//! schemas from it, and every run compares the two sides' schemas with it.

/// A table as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableCatalog {
    /// The table's name as stored.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<CatalogColumn>,
    /// Primary key columns in key order (empty if none).
    pub primary_key: Vec<String>,
    /// Indexes other than the primary key's, by name.
    pub indexes: Vec<Index>,
    /// Foreign keys, by name.
    pub foreign_keys: Vec<ForeignKey>,
    /// Rows, as the engine's statistics estimate them (file sides: none).
    pub estimated_rows: Option<u64>,
}

/// A column as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogColumn {
    /// The column's name as stored.
    pub name: String,
    /// The engine's full type name, with length, precision and scale (`varchar(60)`).
    pub type_name: String,
    /// Whether it may hold NULL (file sides: always).
    pub nullable: bool,
    /// The default expression as the engine shows it.
    pub default: Option<String>,
}

/// An index other than the primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// Its columns in index order.
    pub columns: Vec<String>,
    /// Whether it enforces uniqueness.
    pub unique: bool,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub table: String,
    /// The referenced columns, in the order of `columns`.
    pub ref_columns: Vec<String>,
}

impl TableCatalog {
    /// The column with this name, compared case-insensitively when no exact match exists.
    pub fn column(&self, name: &str) -> Option<&CatalogColumn> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }

    /// The first unique index whose columns are all NOT NULL: a key when there is no primary
    /// key.
    pub fn unique_key(&self) -> Option<&[String]> {
        if !self.primary_key.is_empty() {
            return Some(&self.primary_key);
        }
        self.indexes
            .iter()
            .filter(|i| i.unique)
            .find(|i| {
                i.columns
                    .iter()
                    .all(|c| self.column(c).is_some_and(|c| !c.nullable))
            })
            .map(|i| i.columns.as_slice())
    }

    /// Builds indexes and foreign keys from catalogue rows of (name, flag, column, position),
    /// grouping by name and ordering columns by position.
    pub(crate) fn group<T>(
        rows: Vec<(String, T, String, i64)>,
        mut make: impl FnMut(String, T, Vec<String>),
    ) where
        T: Clone,
    {
        /// A group: its name, its flag, and its columns with their positions.
        type Group<T> = (String, T, Vec<(i64, String)>);
        let mut groups: Vec<Group<T>> = Vec::new();
        for (name, flag, column, pos) in rows {
            match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => g.2.push((pos, column)),
                None => groups.push((name, flag, vec![(pos, column)])),
            }
        }
        for (name, flag, mut cols) in groups {
            cols.sort();
            make(name, flag, cols.into_iter().map(|(_, c)| c).collect());
        }
    }
}
