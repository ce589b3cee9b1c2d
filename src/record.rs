//! `run --record-dir`: write real traces for training, rotated. (Issue 4.)
