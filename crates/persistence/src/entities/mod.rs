//! SeaORM entities: private to this crate, never part of its API.

/// The `task` table as tasks are read from it: every column but the search keys (see
/// [`task_write`]).
pub mod task {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: String,
        pub title: String,
        pub description: Option<String>,
        pub completed: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// `Priority::rank`: 1 (low) to 3 (high).
        pub priority: Option<i16>,
        /// The tags joined with `'\n'` (a tag has no control characters); `""`: none.
        pub tags: String,
        /// The due instant; for an all-day date, its midnight UTC.
        pub due_at: Option<DateTimeUtc>,
        /// Whether `due_at` stands for a whole day (its UTC date).
        pub due_all_day: bool,
        pub remind_at: Option<DateTimeUtc>,
        pub completed_at: Option<DateTimeUtc>,
        /// The recurrence rule in its canonical form.
        pub recurrence: Option<String>,
        /// An IANA time zone name.
        pub time_zone: Option<String>,
        pub occurrences_done: i32,
        pub version: i64,
        /// `Position`: base-62 digits; `""` when written by a version that had none.
        pub position: String,
        /// Microseconds after local midnight: the time of day a moved series returns to.
        pub series_time: Option<i64>,
        /// Its list; NULL only on a row an earlier version wrote, until the next start
        /// puts it into its owner's Inbox.
        pub list_id: Option<Uuid>,
        /// The task it is a subtask of.
        pub parent_id: Option<Uuid>,
        /// The member it is assigned to.
        pub assignee_id: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every column of the `task` table: what an insert or a full replace writes. It is
/// [`task`] plus the folded keys that searches filter and sort by, which the repository
/// derives from the task on every such write and which reads leave out (they are never
/// turned back into a task, and a page of tasks would carry its text twice).
pub mod task_write {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: String,
        pub title: String,
        pub description: Option<String>,
        pub completed: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub priority: Option<i16>,
        pub tags: String,
        pub due_at: Option<DateTimeUtc>,
        pub due_all_day: bool,
        pub remind_at: Option<DateTimeUtc>,
        pub completed_at: Option<DateTimeUtc>,
        pub recurrence: Option<String>,
        pub time_zone: Option<String>,
        pub occurrences_done: i32,
        pub version: i64,
        pub position: String,
        pub series_time: Option<i64>,
        pub list_id: Option<Uuid>,
        pub parent_id: Option<Uuid>,
        pub assignee_id: Option<String>,
        /// The title in Unicode lower case (the title sort).
        pub title_key: String,
        /// Title, line feed, description, in Unicode lower case (the `q` filter).
        pub search_key: String,
        /// Each tag's `Tag::key` between line feeds (`"\nhome\nwork\n"`); `""`: none.
        pub tags_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What is left of a deleted task, for sync clients.
pub mod task_tombstone {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_tombstone")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: String,
        pub deleted_at: DateTimeUtc,
        /// The list it was deleted from (NULL: deleted before lists existed).
        pub list_id: Option<Uuid>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A list of tasks.
pub mod task_list {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "task_list")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub owner_id: String,
        pub name: String,
        pub colour: Option<String>,
        pub position: String,
        pub archived: bool,
        /// The owner's id on their Inbox; NULL on every other list.
        pub inbox_of: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Who may see a list, and in which role (the owner is a member too).
pub mod list_member {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "list_member")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub list_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        /// `owner`, `editor` or `viewer`.
        pub role: String,
        pub added_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// When a user stopped being a member of a list, for their sync feed.
pub mod list_access_lost {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "list_access_lost")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub list_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub lost_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The `Idempotency-Key`s of recent creates.
pub mod idempotency_key {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_key")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub fingerprint: String,
        pub task_id: Uuid,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Better Auth's `"user"` table (camelCase columns).
pub mod user {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub email: String,
        #[sea_orm(column_name = "emailVerified")]
        pub email_verified: bool,
        pub image: Option<String>,
        #[sea_orm(column_name = "createdAt")]
        pub created_at: DateTimeUtc,
        #[sea_orm(column_name = "updatedAt")]
        pub updated_at: DateTimeUtc,
        pub role: Option<String>,
        pub banned: Option<bool>,
        #[sea_orm(column_name = "banReason")]
        pub ban_reason: Option<String>,
        #[sea_orm(column_name = "banExpires")]
        pub ban_expires: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Better Auth's `session` table, as far as deleting a user's sessions needs it.
pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub token: String,
        #[sea_orm(column_name = "userId")]
        pub user_id: String,
        #[sea_orm(column_name = "expiresAt")]
        pub expires_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {
        #[sea_orm(
            belongs_to = "super::user::Entity",
            from = "Column::UserId",
            to = "super::user::Column::Id"
        )]
        User,
    }

    impl Related<super::user::Entity> for Entity {
        fn to() -> RelationDef {
            Relation::User.def()
        }
    }

    impl ActiveModelBehavior for ActiveModel {}
}
