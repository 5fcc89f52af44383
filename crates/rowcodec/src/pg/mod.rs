//! PostgreSQL datums → server text output (work in progress).
