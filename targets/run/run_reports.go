package run

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/dtask-dev/dtask/engine"
	"github.com/dtask-dev/dtask/engine/cache"
	"github.com/dtask-dev/dtask/targets"
	"github.com/dtask-dev/dtask/targets/docker"
)

// maxReport bounds one report file; a larger one is left out with a warning.
const maxReport = 64 << 20

// copyReports copies the files (or every file under the folders) paths
// name out of the exited container id into the state folder's reports,
// named by content, and returns them as Outputs. A path the container did
// not write is reported on warn and skipped: a crashed test run writes none.
func copyReports(ctx context.Context, e *targets.Env, cli *docker.Client, id string, paths []string, warn io.Writer) engine.Outputs {
	out := targets.RunOutput{Reports: map[string]string{}}
	for _, p := range paths {
		files, err := copyReport(ctx, e, cli, id, p)
		if err != nil {
			fmt.Fprintf(warn, "dtask: report %s: %v\n", p, err)
			continue
		}
		for ctrPath, stored := range files {
			out.Reports[ctrPath] = stored
		}
	}
	return out.Outputs()
}

func copyReport(ctx context.Context, e *targets.Env, cli *docker.Client, id, p string) (map[string]string, error) {
	res, err := cli.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: p})
	if cerrdefs.IsNotFound(err) {
		return nil, errors.New("not written by the container")
	}
	if err != nil {
		return nil, err
	}
	defer res.Content.Close()
	files := map[string]string{}
	tr := tar.NewReader(res.Content)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxReport {
			return nil, fmt.Errorf("%s is %d bytes, over the %d limit", h.Name, h.Size, maxReport)
		}
		// The archive's root is p's last element.
		_, rest, _ := strings.Cut(h.Name, "/")
		ctrPath := path.Join(path.Dir(path.Clean(p)), path.Base(path.Clean(p)), rest)
		name, err := storeReport(e, tr)
		if err != nil {
			return nil, err
		}
		files[ctrPath] = name
	}
}

// ReportFiles says where the stored reports are and which outputs name
// them, so that the store prunes them with their records.
func ReportFiles() cache.Attached {
	return cache.Attached{Dir: "reports", Prefix: targets.ReportPrefix}
}

// storeReport writes a report into the state folder, named by its content,
// atomically; an identical report is stored once. Secrets are masked in it
// as in output: a test that prints its environment into a failure message
// would otherwise leave one in the state folder, the CI cache and --junit.
func storeReport(e *targets.Env, r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxReport+1))
	if err != nil {
		return "", err
	}
	if e.Redact != nil {
		data = []byte(redactXML(e, string(data)))
	}
	dir := filepath.Join(e.StateDir, ReportFiles().Dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".report-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	_, err = io.MultiWriter(tmp, h).Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	name := hex.EncodeToString(h.Sum(nil)[:16]) + ".xml"
	return name, os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// Reports returns the report files a run target's outputs name, as
// absolute paths in stateDir, in container path order.
func Reports(out engine.Outputs, stateDir string) []string {
	reports := targets.RunOutputOf(out).Reports
	files := make([]string, 0, len(reports))
	for _, p := range slices.Sorted(maps.Keys(reports)) {
		files = append(files, filepath.Join(stateDir, "reports", filepath.Base(reports[p])))
	}
	return files
}

// redactXML masks secrets in a report: in text and attribute values as
// XML decodes them, so that one written escaped (a password with & or <)
// is masked too. A report that is not well-formed XML is masked as text.
func redactXML(e *targets.Env, s string) string {
	var out strings.Builder
	dec := xml.NewDecoder(strings.NewReader(s))
	enc := xml.NewEncoder(&out)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return e.Redact(s)
		}
		switch t := tok.(type) {
		case xml.CharData:
			tok = xml.CharData(e.Redact(string(t)))
		case xml.Comment:
			tok = xml.Comment(e.Redact(string(t)))
		case xml.StartElement:
			t = t.Copy()
			for i := range t.Attr {
				t.Attr[i].Value = e.Redact(t.Attr[i].Value)
			}
			tok = t
		}
		if err := enc.EncodeToken(tok); err != nil {
			return e.Redact(s)
		}
	}
	if enc.Flush() != nil {
		return e.Redact(s)
	}
	return out.String()
}
