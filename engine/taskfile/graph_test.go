package taskfile

import (
	"errors"
	"strings"
	"testing"
)

func graphFile(deps map[string][]string) *File {
	f := &File{Targets: map[string]*Target{}}
	for n, d := range deps {
		f.Targets[n] = &Target{Name: n, Deps: d}
	}
	return f
}

func TestTargetNames(t *testing.T) {
	f := graphFile(map[string][]string{"b": nil, "a": nil, "c": nil})
	if got := strings.Join(f.TargetNames(), ","); got != "a,b,c" {
		t.Errorf("TargetNames %s", got)
	}
}

func TestClosure(t *testing.T) {
	f := graphFile(map[string][]string{
		"ci":       {"lint", "publish"},
		"publish":  {"test"},
		"test":     {"image", "fixtures"},
		"image":    nil,
		"fixtures": {"image"},
		"lint":     nil,
		"deploy":   {"publish"},
		"loop1":    {"loop2"},
		"loop2":    {"loop1"},
	})
	tests := []struct {
		goals   []string
		want    string
		wantErr string
	}{
		{[]string{"ci"}, "lint,image,fixtures,test,publish,ci", ""},
		{[]string{"test"}, "image,fixtures,test", ""},
		{[]string{"lint", "test"}, "lint,image,fixtures,test", ""},
		{[]string{"deploy", "ci"}, "image,fixtures,test,publish,deploy,lint,ci", ""},
		{[]string{"image", "image"}, "image", ""},
		{nil, "", ""},
		{[]string{"tset"}, "", `unknown target "tset" (did you mean "test"?)`},
		{[]string{"loop2"}, "", `dependency cycle: loop2 -> loop1 -> loop2`},
	}
	for _, tt := range tests {
		got, err := f.Closure(tt.goals)
		if tt.wantErr != "" {
			var coder interface{ ExitCode() int }
			if err == nil || err.Error() != tt.wantErr || !errors.As(err, &coder) {
				t.Errorf("Closure(%v) error %v, want %q", tt.goals, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != tt.want {
			t.Errorf("Closure(%v) = %v, %v; want %s", tt.goals, got, err, tt.want)
		}
	}
	// Every target comes after all its deps, for every goal.
	for _, g := range []string{"ci", "deploy", "publish"} {
		order, err := f.Closure([]string{g})
		if err != nil {
			t.Fatal(err)
		}
		at := map[string]int{}
		for i, n := range order {
			at[n] = i
		}
		for _, n := range order {
			for _, d := range f.Targets[n].Deps {
				if at[d] >= at[n] {
					t.Errorf("%s: %s before its dep %s in %v", g, n, d, order)
				}
			}
		}
	}
}

func TestServiceBuildTargetIsADep(t *testing.T) {
	f, err := Parse("t.toml", []byte(`version = 1
[services.api]
build = "api-image"
[targets.api-image]
build = { context = "." }
[targets.test]
services = ["api"]
run = { image = "busybox", cmd = ["true"] }
`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Closure([]string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "api-image test" {
		t.Errorf("closure %v, want the service's build target first", got)
	}
	_, err = Parse("t.toml", []byte(`version = 1
[services.api]
build = "api-image"
[targets.api-image]
services = ["api"]
build = { context = "." }
`))
	if err == nil || !strings.Contains(err.Error(), "dependency cycle: api-image -> api-image") {
		t.Errorf("a build target using its own service: %v", err)
	}
}
