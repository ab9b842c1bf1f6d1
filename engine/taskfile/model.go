package taskfile

import (
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// FormatVersion is the newest task file version this dtask understands.
const FormatVersion = 1

// File is a loaded task file. String values are as written until Resolve
// interpolates them.
type File struct {
	Path string `toml:"-"` // absolute path of the task file
	Dir  string `toml:"-"` // its folder; relative paths in the file are relative to it

	Version      int                          `toml:"version"`
	Default      string                       `toml:"default"`
	CacheDir     string                       `toml:"cache_dir"`
	Cache        CacheConfig                  `toml:"cache"`
	Vars         map[string]string            `toml:"vars"`
	Env          map[string]string            `toml:"env"`
	Secrets      map[string]SecretRef         `toml:"secrets"`
	Environments map[string]map[string]string `toml:"environments"`
	Services     map[string]*Service          `toml:"services"`
	Targets      map[string]*Target           `toml:"targets"`
	// Compose names compose files whose services join [services].
	Compose StringList `toml:"compose"`

	// VarOrder lists [vars] names in file order (interpolation is order-free,
	// but listings and keys want a stable order).
	VarOrder []string `toml:"-"`
	// pos is where each key is written (Pos); unexported, so that the
	// model kept between runs leaves it out.
	pos *positions

	name string // how messages name the file (as given to Load or Parse)
	// composeFailed: the compose files could not be read, so services
	// missing from [services] may be in them; no follow-on errors.
	composeFailed bool
}

// CacheConfig is the [cache] table.
type CacheConfig struct {
	MaxSize string `toml:"max_size"` // e.g. "10GB"
	// Remote is the team cache, REGISTRY/REPO (docs/team-cache.md).
	Remote string `toml:"remote"`
	// RemoteKeep is how many records per target --cache prune keeps in
	// the team cache (0: the default).
	RemoteKeep int `toml:"remote_keep"`
	// RemoteMaxAge drops older records there too ("720h"; "": no limit).
	RemoteMaxAge Duration `toml:"remote_max_age"`
}

// SecretRef says where a secret's value comes from; the value is never stored.
type SecretRef struct {
	Env  string `toml:"env"`
	File string `toml:"file"`
}

// Service is a container started for the targets that list it.
type Service struct {
	Name    string            `toml:"-"`
	Image   string            `toml:"image"`
	Build   string            `toml:"build"` // name of a build target whose image it uses
	Cmd     StringList        `toml:"cmd"`
	Env     map[string]string `toml:"env"`
	Ports   []string          `toml:"ports"`
	Volumes []string          `toml:"volumes"`
	Ready   *Ready            `toml:"ready"`
	Init    []string          `toml:"init"`
	// Health is the compose file's healthcheck, used when Ready is unset.
	Health *Health `toml:"-"`
	// From names the compose file the service was read from; "" for [services].
	From string `toml:"-"`
	// DependsOn names services started (and ready) before this one (compose depends_on).
	DependsOn []string `toml:"-"`
	// ComposeBuild is a compose service's build: Load makes it a build
	// target (ComposeTarget) and sets Build to its name.
	ComposeBuild *Build `toml:"-"`
}

// ComposeTarget names the build target Load adds for a compose service
// that is built; a task file's target name cannot contain ':' unquoted,
// so it stays apart from the user's names.
func ComposeTarget(service string) string { return "compose:" + service }

// Health is a healthcheck as a compose file gives it: a command run inside
// the container (["CMD", ...] or ["CMD-SHELL", "..."]) and its timing.
type Health struct {
	Test        []string
	Interval    Duration
	Timeout     Duration
	StartPeriod Duration
	Retries     int
}

// Ready says how to tell that a container is ready.
type Ready struct {
	Cmd      string   `toml:"cmd"`
	TCP      int      `toml:"tcp"`
	HTTP     string   `toml:"http"`
	Timeout  Duration `toml:"timeout"`
	Interval Duration `toml:"interval"`
}

// When limits where a target runs; elsewhere it is skipped with a reason.
type When struct {
	Branch []string `toml:"branch"` // globs matched against GIT_BRANCH
	Env    []string `toml:"env"`    // environment names (--env) it runs in
}

// Target is one [targets.NAME] table.
type Target struct {
	Name     string            `toml:"-"`
	Desc     string            `toml:"desc"`
	Deps     []string          `toml:"deps"`
	Sources  []string          `toml:"sources"`
	Env      map[string]string `toml:"env"`
	Services []string          `toml:"services"`
	When     *When             `toml:"when"`
	Timeout  Duration          `toml:"timeout"`
	Dir      string            `toml:"dir"`
	// Outside lets the target's context, Dockerfile, sources and dir
	// reach outside the project (see CheckPaths).
	Outside bool `toml:"outside"`
	// FreshServices gives the target services of its own instead of the
	// run's shared ones.
	FreshServices bool `toml:"fresh_services"`

	// At most one action is set; none makes a group target.
	Sh     StringList `toml:"sh"`
	Build  *Build     `toml:"build"`
	Run    *Run       `toml:"run"`
	Push   *Push      `toml:"push"`
	Deploy *Deploy    `toml:"deploy"`
}

// Build is the build action.
type Build struct {
	Context    string            `toml:"context"`
	Dockerfile string            `toml:"dockerfile"`
	Tags       []string          `toml:"tags"`
	Args       map[string]string `toml:"args"`
	Target     string            `toml:"target"`
	Labels     map[string]string `toml:"labels"`
	CacheFrom  []string          `toml:"cache_from"`
	Platform   string            `toml:"platform"`
	Secrets    []string          `toml:"secrets"`
	Builder    string            `toml:"builder"` // "", "buildkit" or "classic"
}

// Run is the run action: a command in a container.
type Run struct {
	Image      string            `toml:"image"`
	Cmd        StringList        `toml:"cmd"`
	Entrypoint StringList        `toml:"entrypoint"`
	Env        map[string]string `toml:"env"`
	Workdir    string            `toml:"workdir"`
	User       string            `toml:"user"`
	Volumes    []string          `toml:"volumes"`
	Ports      []string          `toml:"ports"`
	// Caches are container folders kept in persistent per-project volumes
	// (build and package caches); what is in them never changes a result,
	// so they are no part of the key.
	Caches []string `toml:"caches" dtask:"nokey"`
	// Reports are files the container writes (JUnit XML), copied out after it exits.
	Reports []string `toml:"reports"`
}

// Push is the push action.
type Push struct {
	Image    string   `toml:"image"`
	Tags     []string `toml:"tags"`
	Username string   `toml:"username"`
	Password string   `toml:"password"` // name of a [secrets] entry
}

// Deploy is the deploy action.
type Deploy struct {
	Host    string            `toml:"host"`
	Image   string            `toml:"image"`
	Name    string            `toml:"name"`
	Env     map[string]string `toml:"env"`
	Ports   []string          `toml:"ports"`
	Volumes []string          `toml:"volumes"`
	Cmd     StringList        `toml:"cmd"`
	Ready   *Ready            `toml:"ready"`
}

// ActionKind names the target's action: "sh", "build", "run", "push",
// "deploy", or "group" when it has none.
func (t *Target) ActionKind() string {
	switch {
	case t.Sh != nil:
		return "sh"
	case t.Build != nil:
		return "build"
	case t.Run != nil:
		return "run"
	case t.Push != nil:
		return "push"
	case t.Deploy != nil:
		return "deploy"
	}
	return "group"
}

// Duration is a time.Duration written as a Go duration string ("60s", "1m30s").
type Duration struct{ time.Duration }

// StringList is a string or a list of strings.
type StringList []string

// Position is where a key is written in the task file.
type Position struct {
	Line, Col int
}

// Positions maps dotted key paths to positions.
type Positions map[string]Position

// TargetDir is the folder a target's relative paths (sources, build
// context, volumes) are relative to and its commands run in: the task
// file's folder, or its dir.
func (f *File) TargetDir(t *Target) string {
	switch {
	case t.Dir == "":
		return f.Dir
	case filepath.IsAbs(t.Dir):
		return filepath.Clean(t.Dir)
	}
	return filepath.Join(f.Dir, t.Dir)
}

// FieldKey is the task file key of a field of the model, the name in its
// toml tag, which decoding, interpolation, the schema and a target's key
// all go by; ok is false for a field the file cannot set (unexported,
// untagged or tagged "-").
func FieldKey(f reflect.StructField) (key string, ok bool) {
	key, _, _ = strings.Cut(f.Tag.Get("toml"), ",")
	return key, f.IsExported() && key != "" && key != "-"
}
