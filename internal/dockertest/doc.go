// Package dockertest is the one harness of the tests that need a Docker
// engine: it decides what a test does when the machine lacks what it
// needs (an engine, a fixture image, a registry, sshd): fail under
// CI=true, where nothing may be skipped, elsewhere skip with a message
// saying how to enable the test, and always skip under -short.
package dockertest
