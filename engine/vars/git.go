package vars

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// gitRepo reads HEAD and refs straight from the .git folder: a no-op run must
// not pay for spawning git just to learn the commit and branch.
type gitRepo struct {
	gitDir    string // the worktree's own git dir (HEAD lives here)
	commonDir string // shared refs, packed-refs and objects
	workTree  string
	packed    map[string]packedRef // loaded on demand
	peeledAll bool                 // packed-refs says every annotated tag is peeled
}

type packedRef struct{ sha, peeled string }

// errNeedGit means the repository uses a format this reader does not parse
// (reftable, tags in packs): ask the git binary instead.
var errNeedGit = errors.New("needs the git binary")

// findRepo looks for .git in dir and its parents.
func findRepo(dir string) (*gitRepo, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, false
	}
	for {
		dotGit := filepath.Join(dir, ".git")
		if fi, err := os.Stat(dotGit); err == nil {
			if r, ok := openGitDir(dotGit, fi, dir); ok {
				return r, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, false
		}
		dir = parent
	}
}

func openGitDir(dotGit string, fi fs.FileInfo, workTree string) (*gitRepo, bool) {
	gitDir := dotGit
	if !fi.IsDir() { // a worktree or submodule: "gitdir: <path>"
		b, err := os.ReadFile(dotGit)
		if err != nil {
			return nil, false
		}
		p, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
		if !ok {
			return nil, false
		}
		gitDir = resolvePath(workTree, strings.TrimSpace(p))
	}
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err != nil {
		return nil, false
	}
	common := gitDir
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		common = resolvePath(gitDir, strings.TrimSpace(string(b)))
	}
	return &gitRepo{gitDir: gitDir, commonDir: common, workTree: workTree}, true
}

func resolvePath(base, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// head returns the commit HEAD is at ("" on an unborn branch) and the branch
// it is on ("" when detached).
func (r *gitRepo) head() (sha, branch string, err error) {
	b, err := os.ReadFile(filepath.Join(r.gitDir, "HEAD"))
	if err != nil {
		return "", "", err
	}
	content := strings.TrimSpace(string(b))
	ref, symbolic := strings.CutPrefix(content, "ref:")
	if !symbolic {
		return content, "", nil
	}
	ref = strings.TrimSpace(ref)
	if ref == "refs/heads/.invalid" { // reftable keeps the real HEAD elsewhere
		return "", "", errNeedGit
	}
	sha, err = r.resolveRef(ref)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // unborn branch: no commit yet
	}
	return sha, strings.TrimPrefix(ref, "refs/heads/"), err
}

// resolveRef follows a ref (loose, then packed) to an object name.
func (r *gitRepo) resolveRef(ref string) (string, error) {
	for range 10 { // symbolic refs rarely chain; guard against loops
		b, err := os.ReadFile(filepath.Join(r.refDir(ref), filepath.FromSlash(ref)))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !isDirErr(err) {
				return "", err
			}
			if err := r.loadPacked(); err != nil {
				return "", err
			}
			if p, ok := r.packed[ref]; ok {
				return p.sha, nil
			}
			return "", fs.ErrNotExist
		}
		v := strings.TrimSpace(string(b))
		next, symbolic := strings.CutPrefix(v, "ref:")
		if !symbolic {
			return v, nil
		}
		ref = strings.TrimSpace(next)
	}
	return "", errors.New("symbolic ref loop")
}

func isDirErr(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if fi, e := os.Stat(pe.Path); e == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// refDir is where a loose ref lives: per-worktree refs in the worktree's git
// dir, the rest in the common dir.
func (r *gitRepo) refDir(ref string) string {
	for _, p := range []string{"refs/bisect/", "refs/worktree/", "refs/rewritten/"} {
		if strings.HasPrefix(ref, p) {
			return r.gitDir
		}
	}
	if !strings.HasPrefix(ref, "refs/") { // pseudo-refs such as HEAD, ORIG_HEAD
		return r.gitDir
	}
	return r.commonDir
}

func (r *gitRepo) loadPacked() error {
	if r.packed != nil {
		return nil
	}
	r.packed = map[string]packedRef{}
	b, err := os.ReadFile(filepath.Join(r.commonDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	last := ""
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte("\n"))
		switch {
		case len(line) == 0:
		case line[0] == '#':
			if traits, ok := bytes.CutPrefix(line, []byte("# pack-refs with:")); ok {
				for _, t := range strings.Fields(string(traits)) {
					if t == "peeled" || t == "fully-peeled" {
						r.peeledAll = true
					}
				}
			}
		case line[0] == '^':
			if p, ok := r.packed[last]; ok {
				p.peeled = string(line[1:])
				r.packed[last] = p
			}
		default:
			sha, name, ok := bytes.Cut(line, []byte(" "))
			if ok {
				last = string(name)
				r.packed[last] = packedRef{sha: string(sha)}
			}
		}
	}
	return nil
}

// tagAt returns the tag pointing at commit sha: annotated tags before
// lightweight ones, then by name. errNeedGit when some tag's target cannot be
// told without reading packed objects.
func (r *gitRepo) tagAt(sha string) (string, error) {
	if sha == "" {
		return "", nil
	}
	if err := r.loadPacked(); err != nil {
		return "", err
	}
	targets := map[string]string{} // tag ref -> object it names
	peeled := map[string]string{}  // tag ref -> commit, where packed-refs says
	for name, p := range r.packed {
		if strings.HasPrefix(name, "refs/tags/") {
			targets[name] = p.sha
			if p.peeled != "" {
				peeled[name] = p.peeled
			} else if r.peeledAll {
				peeled[name] = p.sha
			}
		}
	}
	if err := r.walkLooseTags(targets, peeled); err != nil {
		return "", err
	}
	var annotated, light []string
	needGit := false
	for name, obj := range targets {
		tag := strings.TrimPrefix(name, "refs/tags/")
		if obj == sha {
			light = append(light, tag)
			continue
		}
		commit, ok := peeled[name]
		if !ok {
			var err error
			commit, err = r.peel(obj)
			if errors.Is(err, errNeedGit) {
				needGit = true
				continue
			}
			if err != nil {
				return "", err
			}
		}
		if commit == sha {
			annotated = append(annotated, tag)
		}
	}
	sort.Strings(annotated)
	sort.Strings(light)
	switch {
	case len(annotated) > 0:
		return annotated[0], nil
	case needGit:
		return "", errNeedGit
	case len(light) > 0:
		return light[0], nil
	}
	return "", nil
}

// walkLooseTags adds loose refs/tags, which override packed ones.
func (r *gitRepo) walkLooseTags(targets, peeled map[string]string) error {
	root := filepath.Join(r.commonDir, "refs", "tags")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(r.commonDir), path)
		name := filepath.ToSlash(rel)
		targets[name] = strings.TrimSpace(string(b))
		delete(peeled, name)
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// peel follows tag objects from obj to the object they finally name, reading
// loose objects only.
func (r *gitRepo) peel(obj string) (string, error) {
	for range 10 {
		kind, body, err := r.readLoose(obj)
		if err != nil {
			return "", err
		}
		if kind != "tag" {
			return obj, nil
		}
		line, _, _ := bytes.Cut(body, []byte("\n"))
		target, ok := bytes.CutPrefix(line, []byte("object "))
		if !ok {
			return "", errors.New("malformed tag object " + obj)
		}
		obj = string(target)
	}
	return "", errors.New("tag chain too long at " + obj)
}

// readLoose returns the type and the start of a loose object's content.
func (r *gitRepo) readLoose(obj string) (kind string, body []byte, err error) {
	if len(obj) < 4 {
		return "", nil, errNeedGit
	}
	f, err := os.Open(filepath.Join(r.commonDir, "objects", obj[:2], obj[2:]))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, errNeedGit // in a pack (or an alternate)
	}
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	z, err := zlib.NewReader(f)
	if err != nil {
		return "", nil, err
	}
	defer z.Close()
	buf := make([]byte, 512) // header and a tag's "object" line
	n, err := io.ReadFull(z, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	header, rest, ok := bytes.Cut(buf[:n], []byte{0})
	if !ok {
		return "", nil, errors.New("malformed object " + obj)
	}
	kind, _, _ = strings.Cut(string(header), " ")
	return kind, rest, nil
}

// WorkTree returns the git work tree that holds dir, or "" outside one.
func WorkTree(dir string) string {
	if r, ok := findRepo(dir); ok {
		return r.workTree
	}
	return ""
}
