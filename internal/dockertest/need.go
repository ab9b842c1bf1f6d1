package dockertest

import (
	"os"
	"testing"
)

// Enable is how to get everything the Docker tests need on this machine.
const Enable = "make test starts the engine, fixtures and registries; DOCKER_HOST picks another engine"

// Need fails the test under CI=true and skips it elsewhere, saying what is
// missing and how to enable the test.
func Need(t testing.TB, missing, enable string) {
	t.Helper()
	msg := missing + " (to run this test: " + enable + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true: " + msg)
	}
	t.Skip(msg)
}

// Condition answers a script condition such as testscript's [docker]: err
// is what went wrong checking it. Under CI=true a missing engine is an
// error, never a reason to skip.
func Condition(missing string, err error) (bool, error) {
	if err != nil && os.Getenv("CI") == "true" {
		return false, &missingError{missing + ": " + err.Error() + " (" + Enable + ")"}
	}
	return err == nil, nil
}

type missingError struct{ msg string }

func (e *missingError) Error() string { return "CI=true but " + e.msg }
