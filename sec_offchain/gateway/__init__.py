"""The SEC gateway: an indexer of the contracts' events into a relational store, a read API
over it (`/v1/...`), a resumable event stream and Prometheus metrics, served by uvicorn."""
