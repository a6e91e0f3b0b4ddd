# The two commands. Both install what is missing (PostGIS, npm packages) on a fresh Debian machine.

.PHONY: run test test-cluster

## run: the service with demo data on a private PostGIS, at http://127.0.0.1:8080
run:
	@scripts/run.sh

## test: every test against a throwaway PostGIS
test:
	@scripts/test.sh

## test-cluster: two instances behind nginx, a primary and a streaming replica (scripts/cluster.sh)
test-cluster:
	@scripts/cluster-test.sh
