package ocicache

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// uploads takes an engine's blob uploads (a save from the containerd image
// store is a push) straight into the store: each upload is written to a
// temporary file and hashed as it arrives, and moved to its place when the
// engine names its digest. The registry package would keep the whole blob
// in memory, growing it chunk by chunk, and hash it twice (its own check,
// then the store's), which for a large layer costs seconds and its size in
// memory.
type uploads struct {
	s    *Store
	mu   sync.Mutex
	open map[string]*blobWriter
	next int
}

const uploadsPath = "/v2/" + Repo + "/blobs/uploads/"

// handles says whether r is an upload request of the served repository.
func (u *uploads) handles(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, uploadsPath)
}

func (u *uploads) serve(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, uploadsPath)
	switch {
	case r.Method == http.MethodPost && id == "":
		u.start(w, r)
	case r.Method == http.MethodPatch:
		u.write(w, r, id, false)
	case r.Method == http.MethodPut:
		u.write(w, r, id, true)
	case r.Method == http.MethodGet:
		u.status(w, id)
	case r.Method == http.MethodDelete:
		if bw := u.take(id); bw != nil {
			bw.abort()
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		regError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", r.Method+" "+r.URL.Path)
	}
}

// start opens an upload. A cross-repository mount of a blob the store has
// succeeds at once; one with ?digest= carries the whole blob in its body.
func (u *uploads) start(w http.ResponseWriter, r *http.Request) {
	if m := r.URL.Query().Get("mount"); m != "" {
		if h, err := v1.NewHash(m); err == nil {
			if _, err := u.s.BlobSize(h); err == nil {
				created(w, h)
				return
			}
		}
	}
	bw, err := u.s.newBlob()
	if err != nil {
		regError(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
		return
	}
	u.mu.Lock()
	if u.open == nil {
		u.open = map[string]*blobWriter{}
	}
	u.next++
	id := strconv.Itoa(u.next)
	u.open[id] = bw
	u.mu.Unlock()
	if r.URL.Query().Get("digest") != "" {
		u.write(w, r, id, true)
		return
	}
	accepted(w, id, 0, http.StatusAccepted)
}

// write appends the request's body to upload id; last (a PUT) ends it with
// the digest the client names, which the content must have.
func (u *uploads) write(w http.ResponseWriter, r *http.Request, id string, last bool) {
	bw := u.get(id, last)
	if bw == nil {
		regError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id)
		return
	}
	if _, err := io.Copy(bw, r.Body); err != nil {
		u.take(id)
		bw.abort()
		regError(w, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", err.Error())
		return
	}
	if !last {
		accepted(w, id, bw.n, http.StatusAccepted)
		return
	}
	h, err := v1.NewHash(r.URL.Query().Get("digest"))
	if err != nil {
		bw.abort()
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	if _, err := bw.commit(&h); err != nil {
		regError(w, http.StatusBadRequest, "DIGEST_INVALID", err.Error())
		return
	}
	created(w, h)
}

func (u *uploads) status(w http.ResponseWriter, id string) {
	bw := u.get(id, false)
	if bw == nil {
		regError(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload "+id)
		return
	}
	accepted(w, id, bw.n, http.StatusNoContent)
}

// get returns upload id; with done it also forgets it.
func (u *uploads) get(id string, done bool) *blobWriter {
	if done {
		return u.take(id)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.open[id]
}

func (u *uploads) take(id string) *blobWriter {
	u.mu.Lock()
	defer u.mu.Unlock()
	bw := u.open[id]
	delete(u.open, id)
	return bw
}

// abortAll drops the uploads a client left unfinished.
func (u *uploads) abortAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, bw := range u.open {
		bw.abort()
		delete(u.open, id)
	}
}

// accepted answers about an upload still open, with the bytes it holds.
func accepted(w http.ResponseWriter, id string, n int64, status int) {
	w.Header().Set("Location", uploadsPath+id)
	w.Header().Set("Docker-Upload-UUID", id)
	w.Header().Set("Range", fmt.Sprintf("0-%d", max(n-1, 0)))
	w.WriteHeader(status)
}

func created(w http.ResponseWriter, h v1.Hash) {
	w.Header().Set("Location", "/v2/"+Repo+"/blobs/"+h.String())
	w.Header().Set("Docker-Content-Digest", h.String())
	w.WriteHeader(http.StatusCreated)
}

// regError writes an error as the distribution API has them.
func regError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
