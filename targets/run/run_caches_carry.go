package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// Cache volumes live in the engine, which a CI job's machine starts
// without; the CI templates carry the user cache folder instead. So a
// volume a run target used is also kept there as a tar archive
// (Env.VolumeArchives) when the run made it (or none is kept yet), written
// in the background after the target ran and only replaced when its
// content changed, and a volume the engine lacks is filled from its
// archive before the container starts. The
// copies go through a container that is created from the target's own
// image and never started: the engine mounts its volumes for archive
// operations, and the image needs no tar of its own.

// volumeArchive is where a cache volume's archive lives.
func volumeArchive(e *targets.Env, name string) string {
	return filepath.Join(e.VolumeArchives, name+".tar")
}

// restoreVolume fills the new volume name, mounted at ctrPath, from its
// archive when there is one.
func restoreVolume(ctx context.Context, e *targets.Env, cli *docker.Client, image, name, ctrPath string) error {
	if e.VolumeArchives == "" {
		return nil
	}
	f, err := os.Open(volumeArchive(e, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return withVolume(ctx, e, cli, image, name, ctrPath, func(id string) error {
		// The archive's root is the folder's own name: unpacked in its parent.
		_, err := cli.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: path.Dir(ctrPath), Content: f})
		return err
	})
}

// exportVolumes keeps the cache volumes of a target that ran in the user
// cache folder, off the critical path (FinishSaves waits for it). A
// failure is a warning: the volume itself is unharmed.
func exportVolumes(e *targets.Env, cli *docker.Client, image string, mounts map[string]string) {
	if e.VolumeArchives == "" || len(mounts) == 0 {
		return
	}
	e.Background(func(ctx context.Context) {
		for ctrPath, name := range mounts {
			if err := exportVolume(ctx, e, cli, image, name, ctrPath); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "warning: cache volume %s (%s): keeping it in the cache folder: %v\n", name, ctrPath, err)
			}
		}
	})
}

// exportVolume writes the volume's archive atomically, leaving an archive
// with the same content (by hash) untouched.
func exportVolume(ctx context.Context, e *targets.Env, cli *docker.Client, image, name, ctrPath string) error {
	if err := os.MkdirAll(e.VolumeArchives, 0o700); err != nil {
		return err
	}
	return withVolume(ctx, e, cli, image, name, ctrPath, func(id string) error {
		res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: ctrPath})
		if err != nil {
			return err
		}
		defer res.Content.Close()
		tmp, err := os.CreateTemp(e.VolumeArchives, ".volume-*.tmp")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(tmp, h), res.Content)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		dst := volumeArchive(e, name)
		if old, err := os.ReadFile(dst + ".sha256"); err == nil && strings.TrimSpace(string(old)) == sum {
			return nil
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return err
		}
		return os.WriteFile(dst+".sha256", []byte(sum+"\n"), 0o600)
	})
}

// withVolume runs f with a created, never started container of image
// that mounts volume name at ctrPath, and removes it afterwards. It is
// labelled with the run, so a killed run's next sweep removes it.
func withVolume(ctx context.Context, e *targets.Env, cli *docker.Client, image, name, ctrPath string, f func(id string) error) error {
	// Created even when ctx is cancelled meanwhile (a save stopped at
	// exit): a create cut short can leave a container whose ID we never
	// learn, holding the volume until the next run's sweep. Bounded all
	// the same: a hung engine must not hold dtask's exit.
	cctx, cancel := targets.Detached(ctx)
	id, err := CreateContainer(cctx, e, cli, ContainerSpec{
		Image: image, Entrypoint: []string{"/dtask-volume-copy"}, Labels: e.RunLabels("cache-volumes"),
		Mounts: map[string]string{ctrPath: name},
	})
	cancel()
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := e.CleanupContext(ctx)
		defer cancel()
		_ = e.RemoveContainer(rctx, cli, id)
	}()
	return f(id)
}

// RemoveVolumeArchive removes a cache volume's archive from the user
// cache folder (--cache prune and clear); none is not an error.
func RemoveVolumeArchive(e *targets.Env, name string) error {
	if e.VolumeArchives == "" {
		return nil
	}
	for _, p := range []string{volumeArchive(e, name), volumeArchive(e, name) + ".sha256"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing the archive of cache volume %s: %w", name, err)
		}
	}
	return nil
}

// VolumeArchiveNames lists the cache volumes kept in the user cache folder.
func VolumeArchiveNames(e *targets.Env) []string {
	ents, _ := os.ReadDir(e.VolumeArchives)
	var out []string
	for _, d := range ents {
		if n, ok := strings.CutSuffix(d.Name(), ".tar"); ok && !d.IsDir() {
			out = append(out, n)
		}
	}
	return out
}

// volumeKept says whether the volume has an archive in the cache folder.
func volumeKept(e *targets.Env, name string) bool {
	_, err := os.Stat(volumeArchive(e, name))
	return err == nil
}

// volumeMissing says whether the engine lacks the volume name.
func volumeMissing(ctx context.Context, cli *docker.Client, name string) (bool, error) {
	_, err := cli.VolumeInspect(ctx, name, client.VolumeInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return true, nil
	}
	return false, err
}
