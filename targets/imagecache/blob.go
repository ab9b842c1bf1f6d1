package imagecache

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// probeSize is how much of a blob is test-compressed to decide whether
// compressing it pays.
const probeSize = 1 << 20

// payRatio: a blob is stored compressed only when zstd (level 1) makes
// its first MiB at most this fraction of its size. Layers of compiled
// binaries or already-compressed files barely shrink, and compressing
// them would only cost time on every save and load.
const payRatio = 0.8

var probeEncoder = sync.OnceValue(func() *zstd.Encoder {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	return enc
})

// pays says whether zstd level 1 shrinks sample enough to be worth it.
func pays(sample []byte) bool {
	if len(sample) < 4096 {
		return false
	}
	out := probeEncoder().EncodeAll(sample, make([]byte, 0, len(sample)))
	return float64(len(out)) <= payRatio*float64(len(sample))
}

// writeBlob stores size bytes from r under their sha256 and returns the
// member fields describing where they went. A blob already stored is kept
// and the new copy dropped.
func (c *Cache) writeBlob(r io.Reader, size int64) (m Member, err error) {
	br := bufio.NewReaderSize(r, probeSize)
	sample, _ := br.Peek(int(min(size, probeSize)))
	m.Zstd = pays(sample)
	f, err := c.tempFile()
	if err != nil {
		return m, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	var dst io.Writer = f
	var enc *zstd.Encoder
	if m.Zstd {
		// One goroutine keeps the output byte-for-byte repeatable, which
		// lets a later save tell a damaged copy by its size.
		enc, err = zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return m, err
		}
		dst = enc
	}
	n, err := io.Copy(io.MultiWriter(h, dst), io.LimitReader(br, size))
	if err == nil && n != size {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && enc != nil {
		err = enc.Close()
	}
	if err != nil {
		return m, err
	}
	if err = f.Close(); err != nil {
		return m, err
	}
	m.Digest, m.Blob, m.Size = hex.EncodeToString(h.Sum(nil)), true, size
	fi, err := os.Stat(f.Name())
	if err != nil {
		return m, err
	}
	m.Stored = fi.Size()
	if kept, ok := c.stored(m); ok {
		os.Remove(f.Name())
		return kept, nil
	}
	if err := os.MkdirAll(c.blobsDir(), 0o755); err != nil {
		return m, err
	}
	return m, os.Rename(f.Name(), c.blobPath(m.Digest, m.Zstd))
}

// stored returns m as the copy already in the cache describes it, when
// that copy is kept: other entries count on it, unless it is stored the
// same way at another size: then it is damaged (the encoder is
// deterministic) and m's fresh copy replaces it.
func (c *Cache) stored(m Member) (Member, bool) {
	for _, z := range []bool{m.Zstd, !m.Zstd} {
		old, err := os.Stat(c.blobPath(m.Digest, z))
		if err != nil {
			continue
		}
		if z == m.Zstd && old.Size() == m.Stored || z != m.Zstd && (z || old.Size() == m.Size) {
			m.Zstd, m.Stored = z, old.Size()
			return m, true
		}
	}
	return m, false
}

// errCorrupt marks content that does not match its digest.
var errCorrupt = errors.New("content does not match its digest")

// blobReader reads a blob back and fails at the end if its content does
// not hash to its digest, so a damaged layer never loads silently.
type blobReader struct {
	f    *os.File
	dec  *zstd.Decoder
	r    io.Reader
	h    hash.Hash
	m    Member
	n    int64
	done bool
}

func (c *Cache) openBlob(m Member) (*blobReader, error) {
	f, err := os.Open(c.blobPath(m.Digest, m.Zstd))
	if err != nil {
		return nil, err
	}
	b := &blobReader{f: f, r: f, h: sha256.New(), m: m}
	if m.Zstd {
		b.dec, err = zstd.NewReader(f)
		if err != nil {
			f.Close()
			return nil, err
		}
		b.r = b.dec
	}
	return b, nil
}

func (b *blobReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	if err == io.EOF {
		if b.n != b.m.Size {
			return n, fmt.Errorf("layer %s: %w (%d bytes, want %d)", short(b.m.Digest), errCorrupt, b.n, b.m.Size)
		}
		if hex.EncodeToString(b.h.Sum(nil)) != b.m.Digest {
			return n, fmt.Errorf("layer %s: %w", short(b.m.Digest), errCorrupt)
		}
	} else if err != nil {
		err = fmt.Errorf("layer %s: %w: %v", short(b.m.Digest), errCorrupt, err)
	}
	return n, err
}

func (b *blobReader) Close() error {
	if b.dec != nil {
		b.dec.Close()
	}
	return b.f.Close()
}
