//! Authentication and role-scoped access (filled by the access-control work).
