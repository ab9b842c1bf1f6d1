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

	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/targets/imagecache"
	"github.com/dtask-dev/dtask/targets/ocicache"
)

// cacheCommand runs --cache list, prune or clear.
func cacheCommand(ctx context.Context, c *cli, p *dproject, stdout io.Writer) error {
	if c.MaxSize != "" && c.Cache != "prune" {
		return &usageError{msg: "--max-size goes with --cache prune"}
	}
	store, err := p.OpenStore()
	if err != nil {
		return err
	}
	ic, err := p.ImageCache(store, nil)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := imageCacheCommand(lctx, c, p, store, ic, stdout); err != nil {
		return err
	}
	return cacheVolumes(lctx, c.Cache, p, stdout)
}

// imageCacheCommand runs --cache list, prune or clear on the image cache.
func imageCacheCommand(lctx context.Context, c *cli, p *dproject, store *cache.Store, ic *imagecache.Cache, stdout io.Writer) error {
	switch c.Cache {
	case "list":
		if err := listCache(lctx, ic, stdout); err != nil {
			return err
		}
		return listLayout(p.LayoutDir(), stdout)
	case "prune":
		max, err := p.MaxSize(c.MaxSize)
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
		if err := pruneLayout(lctx, p, store, max-total, stdout); err != nil {
			return err
		}
		// Records and the chunks they share come under the same budget.
		pr := store.Prune(cache.Limits{MaxSize: max, Sweep: true})
		fmt.Fprintf(stdout, "records: %d removed (%d chunks, %d reports), state folder %s\n", pr.Records, pr.Chunks, pr.Attached, imagecache.FormatSize(pr.Size))
		return pruneTeamCache(lctx, c, p, stdout)
	case "clear":
		if err := ic.Clear(lctx); err != nil {
			return err
		}
		if err := os.RemoveAll(p.LayoutDir()); err != nil {
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

// pruneLayout keeps the OCI layout within what the budget leaves,
// dropping its least recently used entries.
func pruneLayout(ctx context.Context, p *dproject, store *cache.Store, max int64, stdout io.Writer) error {
	pr, err := ocicache.Open(p.LayoutDir(), store).Prune(ctx, max)
	if err != nil {
		return fmt.Errorf("pruning %s: %w", p.LayoutDir(), err)
	}
	for _, ref := range pr.Dropped {
		fmt.Fprintf(stdout, "removed %s\n", ref)
	}
	fmt.Fprintf(stdout, "build cache layout: %d removed (%d blobs), %s on disk\n", len(pr.Dropped), pr.Blobs, imagecache.FormatSize(pr.Size))
	return nil
}

// listLayout prints the OCI layout store's entries and its size on disk.
func listLayout(dir string, stdout io.Writer) error {
	idx := ocicache.Open(dir, nil).Index()
	var size int64
	_ = filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	for _, d := range idx.Manifests {
		fmt.Fprintf(stdout, "%s\t%s\n", imagecache.ShortID(d.Annotations[ocicache.AnnotationImageID]), d.Annotations[ocicache.AnnotationRef])
	}
	fmt.Fprintf(stdout, "build cache layout: %d images, %s on disk (layers stored once) in %s\n", len(idx.Manifests), imagecache.FormatSize(size), dir)
	return nil
}
