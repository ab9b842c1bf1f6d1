// Package fakedocker is an in-process Docker engine for logic tests: it
// implements docker.API with containers, networks, images and volumes held
// in memory, so planning, naming, clean-up bookkeeping and error paths are
// tested without an engine. What Docker itself does (building, networking,
// readiness) stays tested against real engines.
package fakedocker
