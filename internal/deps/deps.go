// Package deps pins the project's dependencies while the code that uses them lands.
package deps

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/alecthomas/kong"
	_ "github.com/bmatcuk/doublestar/v4"
	_ "github.com/charmbracelet/lipgloss"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/moby/go-archive"
	_ "github.com/moby/moby/api/types/container"
	_ "github.com/moby/moby/api/types/image"
	_ "github.com/moby/moby/api/types/network"
	_ "github.com/moby/moby/api/types/registry"
	_ "github.com/moby/moby/api/types/build"
	_ "github.com/moby/moby/client"
	_ "github.com/moby/patternmatcher"
	_ "github.com/moby/patternmatcher/ignorefile"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/zeebo/xxh3"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "golang.org/x/sys/unix"
)
