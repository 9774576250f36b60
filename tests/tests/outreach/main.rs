//! Detection, enrollment, stop rules, the step queue, delivery, links and feedback, end to end
//! on the SQLite store with a fixed clock per use case. The same use cases run on DynamoDB in
//! the system tests. One test binary, a file per use case, over the shared `support`.

mod deliver;
mod detect;
mod enqueue;
mod feedback;
mod links;
mod support;
