package raster

// labelComponents labels the 8-connected regions of equal change class (1..254) in class
// (w x h) with a two-pass union-find (Rosenfeld & Pfaltz 1966). Regions smaller than
// minPixels are set back to ClassNone in class (the minimum mapping unit), except, with
// keepEdge, those touching the raster's border (a chunk's region may continue next door).
// It returns the label raster (0 = background, labels 1..n) and each label's bounding box
// and size.
func labelComponents(class []uint8, w, h, minPixels int, keepEdge bool) ([]int32, []Component, []int) {
	labels := make([]int32, len(class))
	parent := []int32{0}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	union := func(a, b int32) int32 {
		ra, rb := find(a), find(b)
		if ra == rb {
			return ra
		}
		if ra < rb {
			parent[rb] = ra
			return ra
		}
		parent[ra] = rb
		return rb
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*w + x
			c := class[i]
			if c == ClassNone || c == ClassNotObserved {
				continue
			}
			var l int32
			// already-visited neighbours: W, NW, N, NE
			try := func(j int) {
				if class[j] != c {
					return
				}
				if l == 0 {
					l = find(labels[j])
				} else {
					l = union(l, labels[j])
				}
			}
			if x > 0 {
				try(i - 1)
			}
			if y > 0 {
				if x > 0 {
					try(i - w - 1)
				}
				try(i - w)
				if x+1 < w {
					try(i - w + 1)
				}
			}
			if l == 0 {
				l = int32(len(parent))
				parent = append(parent, l)
			}
			labels[i] = l
		}
	}
	// resolve, count
	final := make([]int32, len(parent))
	size := make([]int, len(parent))
	for i, l := range labels {
		if l != 0 {
			r := find(l)
			labels[i] = r
			size[r]++
		}
	}
	edge := make([]bool, len(parent))
	if keepEdge {
		mark := func(i int) {
			if l := labels[i]; l != 0 {
				edge[l] = true
			}
		}
		for x := 0; x < w; x++ {
			mark(x)
			mark((h-1)*w + x)
		}
		for y := 0; y < h; y++ {
			mark(y * w)
			mark(y*w + w - 1)
		}
	}
	var comps []Component
	var sizes []int
	for r := 1; r < len(parent); r++ {
		if parent[r] == int32(r) && size[r] > 0 && (size[r] >= minPixels || edge[r]) {
			comps = append(comps, Component{Label: int32(len(comps) + 1), MinCol: w, MinRow: h, MaxCol: -1, MaxRow: -1})
			sizes = append(sizes, size[r])
			final[r] = int32(len(comps))
		}
	}
	for i, l := range labels {
		if l == 0 {
			continue
		}
		nl := final[l]
		labels[i] = nl
		if nl == 0 {
			class[i] = ClassNone
			continue
		}
		c := &comps[nl-1]
		x, y := i%w, i/w
		c.MinCol, c.MaxCol = min(c.MinCol, x), max(c.MaxCol, x)
		c.MinRow, c.MaxRow = min(c.MinRow, y), max(c.MaxRow, y)
	}
	return labels, comps, sizes
}
