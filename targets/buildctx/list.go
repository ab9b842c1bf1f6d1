package buildctx

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dtask-dev/dtask/engine/sources"
	"github.com/dtask-dev/dtask/internal/regularfile"
)

// MaxDockerfile is the largest Dockerfile read: -n reads it (for its FROM
// lines) before a cloned repository is trusted.
const MaxDockerfile = 4 << 20

// Entry is one file, folder or link the context sends.
type Entry struct {
	Path string      // slash-separated, relative to the context folder
	Mode fs.FileMode // type and permission bits at listing time
	Link string      // symlink target
	// Size and MTime (Unix nanoseconds) are what the listing's stat saw,
	// for Stamp.
	Size, MTime int64
}

// Context is a build context: which entries go into the tar, and under which
// name the engine finds the Dockerfile.
type Context struct {
	Dir        string   // absolute context folder, symlinks resolved
	Dockerfile string   // absolute Dockerfile path, symlinks resolved
	Name       string   // the Dockerfile's name inside the tar (the engine's dockerfile=)
	Outside    bool     // the Dockerfile lives outside Dir and is added under Name
	Excludes   []string // .dockerignore patterns plus the CLI's re-inclusions
	Entries    []Entry  // in walk order, which is also tar order
	// IgnoreHidden and DockerfileHidden say .dockerignore excludes itself
	// or the Dockerfile: they are sent only for the builder to read, and
	// the classic builder then drops them from what COPY sees.
	IgnoreHidden, DockerfileHidden bool
}

// Load lists the context at dir for the Dockerfile at dockerfile (empty:
// dir/Dockerfile) with the docker CLI's rules: .dockerignore read with
// ignorefile.ReadAll, .dockerignore and the Dockerfile always sent, and a
// Dockerfile outside the context added to the tar under a generated name.
// skip names folders (absolute) never sent, whatever .dockerignore says:
// dtask's own state folder, whose records change with every run.
func Load(dir, dockerfile string, skip ...string) (*Context, error) {
	abs, err := resolve(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a folder", dir)
	}
	if dockerfile == "" {
		dockerfile = filepath.Join(abs, "Dockerfile")
	}
	df, err := resolve(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	}
	if st, err := os.Stat(df); err != nil {
		return nil, fmt.Errorf("dockerfile: %w", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("dockerfile %s is a folder", dockerfile)
	} else if !st.Mode().IsRegular() {
		// A FIFO or a device: -n would wait on it or read it forever.
		return nil, fmt.Errorf("dockerfile %s is not a regular file", dockerfile)
	}
	c := &Context{Dir: abs, Dockerfile: df}
	rel, err := filepath.Rel(abs, df)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		c.Outside = true
		c.Name, err = outsideName(df)
		if err != nil {
			return nil, err
		}
	} else {
		c.Name = filepath.ToSlash(rel)
	}
	x, err := sources.ContextExcludes(abs, c.Name, c.Outside, skip...)
	if err != nil {
		return nil, err
	}
	c.Excludes, c.IgnoreHidden, c.DockerfileHidden = x.Patterns, x.IgnoreHidden, x.DockerfileHidden
	if c.Entries, err = walk(abs, c.Excludes); err != nil {
		return nil, err
	}
	return c, nil
}

// Files returns the regular files the context sends (slash paths relative
// to Dir): what a cache key hashes.
func (c *Context) Files() []string {
	out := make([]string, 0, len(c.Entries))
	for _, e := range c.Entries {
		if e.Mode.IsRegular() {
			out = append(out, e.Path)
		}
	}
	return out
}

// Without returns the context with the entries at top (a top-level name,
// such as ".git") and under it left out: what a key hashes when no step
// of the build can read them. What is sent stays as listed.
func (c *Context) Without(top string) *Context {
	under := func(e Entry) bool { return e.Path == top || strings.HasPrefix(e.Path, top) && e.Path[len(top)] == '/' }
	if !slices.ContainsFunc(c.Entries, under) {
		return c
	}
	cp := *c
	cp.Entries = slices.DeleteFunc(slices.Clone(c.Entries), under)
	return &cp
}

// Tree describes everything but file contents, one line per entry (type,
// permissions, path, link target), so that a new empty folder, a chmod or a
// changed symlink changes a key that hashes Files' contents alongside it.
func (c *Context) Tree() string {
	h := sha256.New()
	for _, e := range c.Entries {
		fmt.Fprintf(h, "%s %s %s\x00", e.Mode.String(), e.Path, e.Link)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Stamp describes what the context sends as far as a stat can tell, with
// no file read: the folder, the Dockerfile, the ignore patterns and each
// entry with its size and modification time. Two listings with the same
// stamp send the same files unless one was rewritten in place within the
// same nanosecond at the same size; the image cache shares the builds of
// one run's targets on it, where hashing every file again would cost a
// CI run's exit more than the build it saves.
func (c *Context) Stamp() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%q\x00", c.Dir, c.Dockerfile, c.Name, c.Excludes)
	for _, e := range c.Entries {
		fmt.Fprintf(h, "%s %s %s %d %d\x00", e.Mode.String(), e.Path, e.Link, e.Size, e.MTime)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// outsideName names an outside Dockerfile inside the tar. The CLI uses a
// random name; a name derived from the content keeps the tar (and the
// classic builder's COPY cache) identical from one run to the next.
func outsideName(df string) (string, error) {
	b, err := regularfile.Read(df, MaxDockerfile)
	if err != nil {
		return "", fmt.Errorf("dockerfile: %w", err)
	}
	sum := sha256.Sum256(b)
	return ".dockerfile." + hex.EncodeToString(sum[:])[:20], nil
}
