#![allow(dead_code)]
pub mod klines;
pub mod synthetic;
