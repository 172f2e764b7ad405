//! DefectDojo's REST API v2 as slawatch reads it: the records it pulls (`records`, pure serde types in
//! DefectDojo's field names, accepting what DefectDojo stores) and the client that pages through them
//! (`client`, `Authorization: Token …`).

pub mod client;
pub mod records;
