-- One database per service (DESIGN.md, "Data"); each service keeps its tables in a schema named after it.
CREATE DATABASE auth;
CREATE DATABASE catalog;
CREATE DATABASE generation;
CREATE DATABASE commerce;
