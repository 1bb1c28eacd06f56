//! The todo service binary's library half: configuration, telemetry, wiring and commands,
//! kept in a library so end-to-end tests can start the real application in-process.

pub mod app;
pub mod cli;
pub mod health;
pub mod settings;
pub mod telemetry;

pub use app::Application;
pub use settings::Settings;
