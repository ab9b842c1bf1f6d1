package project

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/engine/taskfile"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/run"
)

// StateDir is where records, the stat index and the image cache live.
func (p *Project) StateDir() string {
	dir := os.Getenv("DTASK_CACHE_DIR")
	if dir == "" {
		dir = p.File.CacheDir
	}
	if dir == "" {
		dir = ".dtask"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.File.Dir, dir)
	}
	return dir
}

// parsedCache is where the decoded task file at path is kept between runs:
// the state folder where it is found before the file is read
// (DTASK_CACHE_DIR, else .dtask beside it). With cache_dir set in the
// file, nothing is kept unless DTASK_CACHE_DIR names the same folder.
// Build is this executable's path, size and time and its build info
// (version, revision, dependencies): another dtask decodes anew.
func parsedCache(path string) *taskfile.Parsed {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil
	}
	dir := os.Getenv("DTASK_CACHE_DIR")
	if dir == "" {
		dir = ".dtask"
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(abs), dir)
	}
	if _, err := os.Stat(filepath.Join(dir, cache.MarkName)); err != nil {
		return nil // not a state folder dtask made (yet)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return nil
	}
	build := fmt.Sprintf("%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
	if bi, ok := debug.ReadBuildInfo(); ok {
		build += "\n" + bi.String()
	}
	return &taskfile.Parsed{Path: filepath.Join(dir, "taskfile"), Build: build}
}

// BulkDir is where images and layers live: beside the records when the
// user moved the state folder (DTASK_CACHE_DIR or cache_dir, which CI
// recipes cache whole), else in the user's cache folder, per project, so
// that the work tree (a build context, an editor's index, a backup)
// never carries them.
func (p *Project) BulkDir() string {
	if os.Getenv("DTASK_CACHE_DIR") != "" || p.File.CacheDir != "" {
		return p.StateDir()
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		if d, err := os.UserCacheDir(); err == nil {
			base = d
		} else {
			return p.StateDir()
		}
	}
	return filepath.Join(base, "dtask", p.Env.Project)
}

// OpenStore opens the state folder, refusing one dtask did not make with
// an error that names where it was chosen.
func (p *Project) OpenStore() (*cache.Store, error) {
	store, err := cache.OpenStore(p.StateDir())
	switch {
	case err == nil:
		store.Attached = []cache.Attached{run.ReportFiles()}
		return store, nil
	case !errors.Is(err, cache.ErrNotStateDir):
		return nil, fmt.Errorf("opening the cache: %w", err)
	case os.Getenv("DTASK_CACHE_DIR") != "":
		return nil, &UsageError{Msg: "DTASK_CACHE_DIR: " + err.Error()}
	case p.File.CacheDir != "":
		return nil, taskfile.Errors{p.File.ErrorAt("cache_dir", "cache_dir = %q: %v", p.File.CacheDir, err)}
	}
	return nil, err
}

// ImageCache opens the image cache in the state folder, with the task
// file's size budget; damaged archives are reported on disp (or stderr).
func (p *Project) ImageCache(store *cache.Store, disp ui.Display) (*imagecache.Cache, error) {
	max, err := p.MaxSize("")
	if err != nil {
		return nil, err
	}
	ic := imagecache.Open(filepath.Join(p.BulkDir(), "images"), max, store)
	ic.Warn = func(msg string) {
		if disp != nil {
			disp.Message("warning: " + msg)
			return
		}
		fmt.Fprintln(os.Stderr, "warning: "+msg)
	}
	return ic, nil
}

// MaxSize is --max-size, else cache.max_size, else 1GB: the budget of the
// whole state folder.
func (p *Project) MaxSize(flag string) (int64, error) {
	if flag != "" {
		n, err := imagecache.ParseSize(flag)
		if err != nil {
			return 0, &UsageError{Msg: "--max-size: " + err.Error()}
		}
		return n, nil
	}
	if s := p.File.Cache.MaxSize; s != "" {
		n, err := imagecache.ParseSize(s)
		if err != nil {
			return 0, taskfile.Errors{p.File.ErrorAt("cache.max_size", "cache.max_size: %v", err)}
		}
		return n, nil
	}
	return imagecache.DefaultMaxSize, nil
}

// LayoutDir is the image cache's OCI layout (layout/ in the bulk folder).
func (p *Project) LayoutDir() string { return filepath.Join(p.BulkDir(), "layout") }
