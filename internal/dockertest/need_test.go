package dockertest

import (
	"errors"
	"strings"
	"testing"
)

func TestConditionFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	ok, err := Condition("the Docker engine", errors.New("connection refused"))
	if ok || err == nil || !strings.Contains(err.Error(), "make test") {
		t.Errorf("under CI: %v %v", ok, err)
	}
	t.Setenv("CI", "")
	if ok, err := Condition("the Docker engine", errors.New("connection refused")); ok || err != nil {
		t.Errorf("locally: %v %v", ok, err)
	}
	if ok, err := Condition("the Docker engine", nil); !ok || err != nil {
		t.Errorf("engine up: %v %v", ok, err)
	}
}

// TestNeedSkipsLocallyWithHowToEnable runs Need in a subtest and looks at
// what it reported.
func TestNeedSkipsLocallyWithHowToEnable(t *testing.T) {
	t.Setenv("CI", "")
	var skipped bool
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Need(t, "fixture image busybox:latest missing", "make fixtures")
	})
	if !skipped {
		t.Error("Need did not skip outside CI")
	}
}
