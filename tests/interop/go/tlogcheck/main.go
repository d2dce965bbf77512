// Command tlogcheck checks a C2SP tlog-tiles log on disk with the Go checksum
// database's own note and tlog packages, independently of Saksi's Python code:
//
//	tlogcheck <public/log dir> <vkey>
//
// It verifies the checkpoint signature, rebuilds the tree from the entry bundles,
// compares its root with the checkpoint and recomputes every hash tile. It prints
// one summary line and exits 0, or prints every mismatch and exits 1.
//
// golang.org/x/mod 0.7 only knows sumdb's tile paths (tile/8/L/...) and tree
// note header, so C2SP paths and checkpoint lines are handled here.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	height = 8
	width  = 1 << height
	// Report at most this many mismatches: one bad entry changes a tile per level.
	maxProblems = 20
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

type checker struct {
	dir      string
	size     int64
	entries  [][]byte
	hashes   []tlog.Hash // tlog's stored-hash layout of the whole tree
	checked  map[string]bool
	problems []string
	tiles    int
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck <public/log dir> <vkey>")
		os.Exit(2)
	}
	summary, problems, err := run(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlogcheck:", err)
		os.Exit(1)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "tlogcheck:", p)
		}
		os.Exit(1)
	}
	fmt.Println(summary)
}

// run returns an error when the log cannot be checked at all (bad signature,
// missing or malformed files) and problems for content that does not match.
func run(dir, vkey string) (string, []string, error) {
	cp, err := readCheckpoint(filepath.Join(dir, "checkpoint"), vkey)
	if err != nil {
		return "", nil, err
	}
	c := &checker{dir: dir, size: cp.size, checked: map[string]bool{}}
	if err := c.readBundles(); err != nil {
		return "", nil, err
	}
	root, err := tlog.TreeHash(cp.size, c)
	if err != nil {
		return "", nil, err
	}
	if root != cp.root {
		c.problem("root mismatch: checkpoint says %s, the entries hash to %s", cp.root, root)
	}
	if err := c.checkTiles(); err != nil {
		return "", nil, err
	}
	if err := c.checkOtherFiles(); err != nil {
		return "", nil, err
	}
	summary := fmt.Sprintf("ok origin=%s size=%d root=%s tiles=%d bundles=%d",
		cp.origin, cp.size, cp.root, c.tiles, (cp.size+width-1)/width)
	return summary, c.problems, nil
}

func (c *checker) problem(format string, args ...interface{}) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Sprintf(format, args...))
	} else if len(c.problems) == maxProblems {
		c.problems = append(c.problems, "more mismatches not shown")
	}
}

// ReadHashes makes the checker a tlog.HashReader over the hashes built so far.
func (c *checker) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(c.hashes)) {
			return nil, fmt.Errorf("stored hash %d is not in a tree of %d hashes", x, len(c.hashes))
		}
		out[i] = c.hashes[x]
	}
	return out, nil
}

func readCheckpoint(path, vkey string) (checkpoint, error) {
	var cp checkpoint
	msg, err := os.ReadFile(path)
	if err != nil {
		return cp, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return cp, fmt.Errorf("vkey %q: %v", vkey, err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return cp, fmt.Errorf("checkpoint signature: %v", err)
	}
	// The signed text is origin, size, root and optional extension lines, each
	// ending in a newline (tlog-checkpoint.md).
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 || lines[0] == "" {
		return cp, fmt.Errorf("checkpoint: want origin, size and root lines, got %q", n.Text)
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return cp, fmt.Errorf("checkpoint: empty extension line")
		}
	}
	cp.origin = lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return cp, fmt.Errorf("checkpoint: bad tree size %q", lines[1])
	}
	cp.size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return cp, fmt.Errorf("checkpoint: bad root hash %q", lines[2])
	}
	copy(cp.root[:], root)
	return cp, nil
}

// indexPath encodes a tile index as C2SP's zero-padded 3-digit elements,
// all but the last prefixed with x: 1234067 -> x001/x234/067.
func indexPath(n int64) string {
	parts := []string{fmt.Sprintf("%03d", n%1000)}
	for n /= 1000; n > 0; n /= 1000 {
		parts = append([]string{fmt.Sprintf("x%03d", n%1000)}, parts...)
	}
	return strings.Join(parts, "/")
}

func suffix(w int) string {
	if w == width {
		return ""
	}
	return ".p/" + strconv.Itoa(w)
}

func bundlePath(n int64, w int) string {
	return "tile/entries/" + indexPath(n) + suffix(w)
}

func tilePath(t tlog.Tile) string {
	return "tile/" + strconv.Itoa(t.L) + "/" + indexPath(t.N) + suffix(t.W)
}

func parseBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("truncated length prefix")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("entry %d: %d bytes announced, %d left", len(out), n, len(data)-2)
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}

// readBundles reads every entry into c.entries and builds the tree with tlog.
func (c *checker) readBundles() error {
	for n := int64(0); n*width < c.size; n++ {
		w := width
		if rest := c.size - n*width; rest < width {
			w = int(rest)
		}
		name := bundlePath(n, w)
		data, err := os.ReadFile(filepath.Join(c.dir, name))
		if err != nil {
			return err
		}
		c.checked[name] = true
		entries, err := parseBundle(data)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if len(entries) != w {
			return fmt.Errorf("%s: %d entries, want %d", name, len(entries), w)
		}
		for _, e := range entries {
			stored, err := tlog.StoredHashes(int64(len(c.entries)), e, c)
			if err != nil {
				return err
			}
			c.entries = append(c.entries, e)
			c.hashes = append(c.hashes, stored...)
		}
	}
	return nil
}

// checkTiles compares every tile a tree of c.size needs with the file.
// NewTiles from 0 lists each partial width 1..W; C2SP serves only the last.
func (c *checker) checkTiles() error {
	for _, t := range tlog.NewTiles(height, 0, c.size) {
		if t.W != width && int64(t.W) != (c.size>>(height*t.L))%width {
			continue
		}
		name := tilePath(t)
		if err := c.compareTile(name, t); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) compareTile(name string, t tlog.Tile) error {
	want, err := tlog.ReadTileData(t, c)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	got, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return err
	}
	c.checked[name] = true
	c.tiles++
	if bytes.Equal(got, want) {
		return nil
	}
	if len(got) != len(want) {
		c.problem("%s: %d bytes, want %d", name, len(got), len(want))
		return nil
	}
	for i := 0; i < len(want); i += tlog.HashSize {
		if !bytes.Equal(got[i:i+tlog.HashSize], want[i:i+tlog.HashSize]) {
			c.problem("%s: hash %d (tree level %d, node %d) differs from the one recomputed",
				name, i/tlog.HashSize, height*t.L, t.N*width+int64(i/tlog.HashSize))
		}
	}
	return nil
}

// checkOtherFiles accepts partial tiles and bundles left by earlier checkpoints,
// which a log may keep, if they are a prefix of this tree; anything else under
// tile/ is an error. Dot files are a writer's temporaries, not resources.
func (c *checker) checkOtherFiles() error {
	root := filepath.Join(c.dir, "tile")
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, err := filepath.Rel(c.dir, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if c.checked[name] {
			return nil
		}
		level, n, w, ok := parsePath(name)
		if !ok || w == width {
			return fmt.Errorf("%s: not a resource of a tree of size %d", name, c.size)
		}
		if level < 0 {
			return c.compareOldBundle(name, n, w)
		}
		if (n*width+int64(w))<<(height*level) > c.size {
			return fmt.Errorf("%s: partial tile beyond the tree of size %d", name, c.size)
		}
		return c.compareTile(name, tlog.Tile{H: height, L: level, N: n, W: w})
	})
}

func (c *checker) compareOldBundle(name string, n int64, w int) error {
	start := n * width
	if start+int64(w) > c.size {
		return fmt.Errorf("%s: partial bundle beyond the tree of size %d", name, c.size)
	}
	data, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		return err
	}
	entries, err := parseBundle(data)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	if len(entries) != w {
		c.problem("%s: %d entries, want %d", name, len(entries), w)
		return nil
	}
	for i, e := range entries {
		if !bytes.Equal(e, c.entries[start+int64(i)]) {
			c.problem("%s: entry %d differs from the current bundle", name, start+int64(i))
		}
	}
	return nil
}

// parsePath splits tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>] (level -1),
// accepting only the canonical spelling.
func parsePath(name string) (level int, n int64, w int, ok bool) {
	rest := strings.TrimPrefix(name, "tile/")
	head, rest, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	level = -1
	if head != "entries" {
		l, err := strconv.Atoi(head)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != head {
			return 0, 0, 0, false
		}
		level = l
	}
	w = width
	if index, ws, partial := strings.Cut(rest, ".p/"); partial {
		pw, err := strconv.Atoi(ws)
		if err != nil || pw < 1 || pw >= width || strconv.Itoa(pw) != ws {
			return 0, 0, 0, false
		}
		rest, w = index, pw
	}
	for _, part := range strings.Split(rest, "/") {
		d, err := strconv.Atoi(strings.TrimPrefix(part, "x"))
		if err != nil || len(part) < 3 || d < 0 {
			return 0, 0, 0, false
		}
		n = n*1000 + int64(d)
	}
	if indexPath(n) != rest {
		return 0, 0, 0, false
	}
	return level, n, w, true
}
