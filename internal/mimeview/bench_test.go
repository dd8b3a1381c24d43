package mimeview

import "testing"

// BenchmarkParse measures whole views: the thousand-part file shows the
// cost per part, the others a typical message.
func BenchmarkParse(b *testing.B) {
	for _, file := range []string{"many-parts.eml", "nested.eml", "mixed-attachments.eml"} {
		raw := readFile(b, file)
		b.Run(file, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(raw, Options{MaxParts: 2000})
			}
		})
	}
}
