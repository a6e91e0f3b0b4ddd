//! The integration tests, one binary: every module starts the real service over real HTTP on its
//! own fresh PostGIS database (see `helpers`). One binary links once and lets tests from different
//! modules run side by side.

mod helpers;

mod access_matrix;
mod accounts;
mod assessment;
mod audit;
mod backup;
mod bad_input;
mod boundaries;
mod campaigns;
mod cluster;
mod count;
mod county_bounds;
mod crash;
mod departments;
mod exports;
mod families;
mod first_admin;
mod fuzz;
mod gis_clients;
mod idempotency;
mod import;
mod ledger_import;
mod monitoring;
mod ogc_api;
mod ogc_write;
mod package;
mod photos;
mod proxy;
mod reader_language;
mod reminders;
mod request_id;
mod review_queue;
mod rollups;
mod roster;
mod security;
mod seed;
mod service;
mod shell;
mod task_list;
mod tasks_api;
mod text_input;
mod tile_cache;
mod tiles;
mod township_assignment;
mod two_factor;
mod web;
mod workflow;
