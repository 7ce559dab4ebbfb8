//go:build !race

package htmlinject

import "testing"

// The injector runs on every HTML page the proxy forwards: with room in
// dst it must not allocate.
func TestInjectorAllocs(t *testing.T) {
	tag := []byte(fuzzTag)
	docs := [][]byte{[]byte(rawTextTests[0].in), []byte(rawTextTests[len(rawTextTests)/2].in)}
	for _, bb := range injectBenchmarks {
		docs = append(docs, bb.doc)
	}
	for _, doc := range docs {
		dst := make([]byte, 0, len(doc)+len(tag))
		var j Injector
		allocs := testing.AllocsPerRun(20, func() {
			j.Reset(tag)
			out := dst
			for i := range doc {
				out = j.Append(out, doc[i:i+1])
			}
			j.Finish(out)
		})
		if allocs != 0 {
			t.Errorf("%.40q...: %v allocations, want 0", doc, allocs)
		}
	}
}
