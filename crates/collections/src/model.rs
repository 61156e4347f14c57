//! A collection definition, in PocketBase's collection JSON (camelCase, its field type names
//! and options), so that a schema exported from a PocketBase dashboard is accepted as is.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub const MAX_FIELDS: usize = 100;
pub const MAX_COLLECTIONS: i64 = 100;
pub const MAX_NAME: usize = 63;
pub const MAX_INDEXES: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CollectionType {
    Base,
    Auth,
    View,
}

impl CollectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionType::Base => "base",
            CollectionType::Auth => "auth",
            CollectionType::View => "view",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FieldKind {
    Text,
    Number,
    Bool,
    Email,
    Url,
    Editor,
    Date,
    Autodate,
    Select,
    Json,
    Relation,
    File,
    Password,
    GeoPoint,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Bool => "bool",
            FieldKind::Email => "email",
            FieldKind::Url => "url",
            FieldKind::Editor => "editor",
            FieldKind::Date => "date",
            FieldKind::Autodate => "autodate",
            FieldKind::Select => "select",
            FieldKind::Json => "json",
            FieldKind::Relation => "relation",
            FieldKind::File => "file",
            FieldKind::Password => "password",
            FieldKind::GeoPoint => "geoPoint",
        }
    }
}

/// How a field is stored: what its column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Text,
    Number,
    Bool,
    /// A JSON array of text (multi select, relation, file).
    TextList,
    Json,
}

/// One field, with every PocketBase option it may carry; options that do not apply to its
/// type are ignored, unknown ones are kept so that an export gives back what was imported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Field {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub presentable: bool,
    #[serde(default)]
    pub system: bool,
    /// Socle: a unique index on this field.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// text/password: length; number: value; date: earliest/latest date (any JSON value,
    /// as PocketBase sends it: a number, a date string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub min: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub max: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_int: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_select: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_select: Option<u32>,
    /// Bytes (file, json, editor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_types: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// relation: the target collection (its id or its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade_delete: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_create: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<bool>,
    /// Socle: the value a new record gets when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Value>)]
    pub default: Option<Value>,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

impl Field {
    pub fn new(name: &str, kind: FieldKind) -> Self {
        Field {
            id: String::new(),
            name: name.into(),
            kind,
            required: false,
            hidden: false,
            presentable: false,
            system: false,
            unique: false,
            min: None,
            max: None,
            pattern: None,
            only_int: None,
            values: None,
            max_select: None,
            min_select: None,
            max_size: None,
            mime_types: None,
            protected: None,
            collection_id: None,
            cascade_delete: None,
            on_create: None,
            on_update: None,
            default: None,
            extra: Map::new(),
        }
    }

    pub fn multiple(&self) -> bool {
        matches!(self.kind, FieldKind::Select | FieldKind::Relation | FieldKind::File)
            && self.max_select.unwrap_or(1) > 1
    }

    pub fn storage(&self) -> Storage {
        match self.kind {
            FieldKind::Number => Storage::Number,
            FieldKind::Bool => Storage::Bool,
            FieldKind::Json | FieldKind::GeoPoint => Storage::Json,
            FieldKind::Select | FieldKind::Relation | FieldKind::File if self.multiple() => Storage::TextList,
            _ => Storage::Text,
        }
    }

    /// The type the expression checker and compiler see.
    pub fn expr_type(&self, relation_target: Option<&str>) -> expr::check::FieldType {
        use expr::check::FieldType as T;
        let multiple = self.multiple();
        match self.kind {
            FieldKind::Number => T::Number,
            FieldKind::Bool => T::Bool,
            FieldKind::Date | FieldKind::Autodate => T::Date,
            FieldKind::Json | FieldKind::GeoPoint => T::Json,
            FieldKind::Select => T::Select { multiple },
            FieldKind::File => T::File { multiple },
            FieldKind::Relation => T::Relation { collection: relation_target.unwrap_or_default().into(), multiple },
            _ => T::Text,
        }
    }
}

/// An index on chosen fields. PocketBase's `CREATE [UNIQUE] INDEX name ON table (a, b)`
/// strings are accepted too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Index {
    pub name: String,
    pub fields: Vec<String>,
    #[serde(default)]
    pub unique: bool,
}

/// The five access rules: `None` = superusers and builders only, `""` = everyone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    pub list_rule: Option<String>,
    pub view_rule: Option<String>,
    pub create_rule: Option<String>,
    pub update_rule: Option<String>,
    pub delete_rule: Option<String>,
}

impl Rules {
    pub fn each(&self) -> [(&'static str, &Option<String>); 5] {
        [
            ("listRule", &self.list_rule),
            ("viewRule", &self.view_rule),
            ("createRule", &self.create_rule),
            ("updateRule", &self.update_rule),
            ("deleteRule", &self.delete_rule),
        ]
    }
}

/// A collection as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CollectionType,
    pub system: bool,
    pub fields: Vec<Field>,
    pub indexes: Vec<Index>,
    #[serde(flatten)]
    pub rules: Rules,
    /// view collections: `SELECT fields FROM collection [WHERE filter]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_query: Option<String>,
    /// Options PocketBase keeps on auth collections (password auth, OAuth2, token
    /// durations, email templates); kept as given.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub options: Map<String, Value>,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Fields with a column of their own (all but `id`).
    pub fn columns(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.name != "id")
    }
}
