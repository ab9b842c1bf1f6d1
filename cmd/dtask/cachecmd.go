package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dtask-dev/dtask/cmd/dtask/ui"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/targets/imagecache"
)

// imageCache opens the image cache in the state folder, with the task
// file's size budget; damaged archives are reported on disp (or stderr).
func (p *project) imageCache(store *cache.Store, disp ui.Display) (*imagecache.Cache, error) {
	max, err := p.maxSize("")
	if err != nil {
		return nil, err
	}
	ic := imagecache.Open(filepath.Join(store.Dir(), "images"), max, store)
	ic.Warn = func(msg string) {
		if disp != nil {
			disp.Message("warning: " + msg)
			return
		}
		fmt.Fprintln(os.Stderr, "warning: "+msg)
	}
	return ic, nil
}

// maxSize is --max-size, else cache.max_size, else 10GB.
func (p *project) maxSize(flag string) (int64, error) {
	if flag != "" {
		n, err := imagecache.ParseSize(flag)
		if err != nil {
			return 0, &usageError{msg: "--max-size: " + err.Error()}
		}
		return n, nil
	}
	if s := p.file.Cache.MaxSize; s != "" {
		n, err := imagecache.ParseSize(s)
		if err != nil {
			return 0, &usageError{msg: fmt.Sprintf("%s: cache.max_size: %v", p.file.Path, err)}
		}
		return n, nil
	}
	return imagecache.DefaultMaxSize, nil
}

// cacheCommand runs --cache list, prune or clear.
func cacheCommand(ctx context.Context, c *cli, p *project, stdout io.Writer) error {
	if c.MaxSize != "" && c.Cache != "prune" {
		return &usageError{msg: "--max-size goes with --cache prune"}
	}
	store, err := cache.OpenStore(p.stateDir())
	if err != nil {
		return fmt.Errorf("opening the cache: %w", err)
	}
	ic, err := p.imageCache(store, nil)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch c.Cache {
	case "list":
		return listCache(lctx, ic, stdout)
	case "prune":
		max, err := p.maxSize(c.MaxSize)
		if err != nil {
			return err
		}
		dropped, err := ic.Prune(lctx, max)
		if err != nil {
			return err
		}
		for _, e := range dropped {
			fmt.Fprintf(stdout, "removed %s %s\n", imagecache.ShortID(e.ID), strings.Join(e.Refs, ", "))
		}
		_, total, err := ic.List(lctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "image cache: %d removed, %s on disk (budget %s)\n", len(dropped), imagecache.FormatSize(total), imagecache.FormatSize(max))
		return pruneTeamCache(lctx, c, p, stdout)
	case "clear":
		if err := ic.Clear(lctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "image cache cleared (%s)\n", ic.Dir())
		return nil
	}
	return &usageError{msg: fmt.Sprintf("unknown --cache operation %q (want list, prune or clear)", c.Cache)}
}

func listCache(ctx context.Context, ic *imagecache.Cache, stdout io.Writer) error {
	entries, total, err := ic.List(ctx)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "image cache is empty (%s)\n", ic.Dir())
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE ID\tKIND\tTARGET\tSIZE\tLAST USED\tNAMES")
	for _, e := range entries {
		target := e.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", imagecache.ShortID(e.ID), e.Kind, target,
			imagecache.FormatSize(e.Size), ago(e.Used), strings.Join(e.Refs, ", "))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "%d images, %s on disk (shared layers stored once), budget %s\n", len(entries), imagecache.FormatSize(total), imagecache.FormatSize(ic.MaxSize))
	return nil
}

func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
