//! Training, evaluation and the native CLI (to come).
