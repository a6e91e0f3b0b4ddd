//! The integration tests, one binary: every module starts the real service over real HTTP on its
//! own fresh PostGIS database (see `helpers`). One binary links once and lets tests from different
//! modules run side by side.

mod helpers;

mod access_matrix;
mod accounts;
mod bad_input;
mod exports;
mod import;
mod ogc_api;
mod ogc_write;
mod request_id;
mod review_queue;
mod rollups;
mod seed;
mod service;
mod task_list;
mod tasks_api;
mod tiles;
mod township_assignment;
mod web;
mod workflow;
