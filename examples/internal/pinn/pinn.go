// Package pinn holds what the physics-informed examples share: pictures of
// fields on a grid, the loss history as CSV, evaluation of a trained
// network at points read from a .npy file, and the flags for all of it.
package pinn

import (
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/internal/npy"
	"github.com/jacobi-ad/jacobi/optim"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Flags are the options every example has.
type Flags struct {
	Seed       uint64
	EvalPoints string
	EvalOutput string
	Picture    string
	LossCSV    string
	Save       string
	Init       string
	Quiet      bool
}

// Register adds the common flags, with the example's name in the default
// file names.
func (f *Flags) Register(fs *flag.FlagSet, name string) {
	fs.Uint64Var(&f.Seed, "seed", 1234, "seed of the initial weights and the training points")
	fs.StringVar(&f.EvalPoints, "eval-points", "", "an (N, d) float64 .npy file of points at which to evaluate the trained network")
	fs.StringVar(&f.EvalOutput, "eval-output", "", "where to write the network's values at --eval-points, (N, 1) float64 .npy")
	fs.StringVar(&f.Picture, "png", name+".png", "the picture of the predicted and exact fields and the error (empty: none)")
	fs.StringVar(&f.LossCSV, "loss-csv", name+"-loss.csv", "the loss history as CSV (empty: none)")
	fs.StringVar(&f.Save, "save", "", "save the trained network's parameters here (safetensors)")
	fs.StringVar(&f.Init, "init", "", "start from the parameters in this safetensors file instead of a fresh network")
	fs.BoolVar(&f.Quiet, "quiet", false, "no progress output")
}

// Check rejects inconsistent flags.
func (f *Flags) Check() error {
	if (f.EvalPoints == "") != (f.EvalOutput == "") {
		return fmt.Errorf("--eval-points and --eval-output go together")
	}
	return nil
}

// Progress returns where progress goes: stderr, or nowhere with --quiet.
func (f *Flags) Progress() io.Writer {
	if f.Quiet {
		return nil
	}
	return os.Stderr
}

// WriteAtomic writes a file through a temporary file in the same
// directory and a rename, so a failed run leaves nothing half-written.
func WriteAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o644); err != nil { // CreateTemp makes it private
		return err
	}
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// TrainSeconds returns the training time a history records.
func TrainSeconds(h *optim.History) float64 {
	if n := len(h.Seconds); n > 0 {
		return h.Seconds[n-1]
	}
	return 0
}

// WriteLoss writes the loss history as CSV (step, loss, seconds).
func WriteLoss(path string, h *optim.History) error {
	if path == "" || h == nil {
		return nil
	}
	return WriteAtomic(path, h.WriteCSV)
}

// Evaluate runs the network u on the (N, d) points of the .npy file in and
// writes its (N, 1) values to out.
func Evaluate(u jacobi.Fn, d int, in, out string) error {
	if in == "" {
		return nil
	}
	x, err := npy.ReadFile(in)
	if err != nil {
		return err
	}
	if x.Rank() != 2 || x.Shape()[1] != d {
		return fmt.Errorf("%s: points of shape %v; want (N, %d)", in, x.Shape(), d)
	}
	y, err := jacobi.Eval(u, x)
	if err != nil {
		return err
	}
	if err := npy.WriteFile(out, y); err != nil {
		return err
	}
	return nil
}

// ReadNpy reads a float64 or float32 .npy file.
func ReadNpy(path string) (*tensor.Tensor, error) { return npy.ReadFile(path) }

// WriteNpy writes a float64 .npy file atomically.
func WriteNpy(path string, t *tensor.Tensor) error { return npy.WriteFile(path, t) }

// Field is one panel of a picture: a value at every point of Panels' grid.
type Field struct {
	Title  string
	Values []float64 // len(xs)·len(ys), index iy·len(xs) + ix
	Error  bool      // drawn with a one-sided colour map from 0
}

type grid struct {
	xs, ys []float64
	z      []float64
}

func (g grid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g grid) Z(c, r int) float64 { return g.z[r*len(g.xs)+c] }
func (g grid) X(c int) float64    { return g.xs[c] }
func (g grid) Y(r int) float64    { return g.ys[r] }

// Panels draws the fields as heat maps side by side, each with its colour
// bar, into a PNG file: xs along the horizontal axis (labelled xlabel), ys
// along the vertical.
func Panels(path, xlabel, ylabel string, xs, ys []float64, fields []Field) error {
	if path == "" {
		return nil
	}
	const panelW, panelH, barH = 4.2 * vg.Inch, 3.4 * vg.Inch, 0.9 * vg.Inch
	img := vgimg.New(panelW*vg.Length(len(fields)), panelH+barH)
	dc := draw.New(img)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	for i, f := range fields {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range f.Values {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		var cm palette.ColorMap
		if f.Error {
			cm = moreland.BlackBody()
			lo = 0
		} else {
			cm = moreland.SmoothBlueRed()
		}
		if !(hi > lo) {
			hi = lo + 1
		}
		cm.SetMin(lo)
		cm.SetMax(hi)
		if f.Error {
			cm = reversed{cm}
		}
		hm := plotter.NewHeatMap(grid{xs, ys, f.Values}, cm.Palette(256))
		hm.Min, hm.Max = lo, hi
		hm.Rasterized = true // one image, not a rectangle per cell (no seams between cells)
		p := plot.New()
		p.Title.Text = f.Title
		p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
		p.Add(hm)
		left := vg.Length(i) * panelW
		p.Draw(draw.Crop(dc, left, left+panelW-dc.Max.X, barH, 0))
		bar := plot.New()
		bar.HideY()
		bar.X.Padding = 0
		bar.Add(&plotter.ColorBar{ColorMap: cm})
		bar.Draw(draw.Crop(dc, left+0.35*vg.Inch, left+panelW-dc.Max.X-0.2*vg.Inch, 0.05*vg.Inch, barH-dc.Max.Y))
	}
	return WriteAtomic(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

// reversed flips a colour map so that 0 is light.
type reversed struct{ palette.ColorMap }

func (r reversed) At(v float64) (color.Color, error) {
	return r.ColorMap.At(r.Max() - (v - r.Min()))
}

func (r reversed) Palette(n int) palette.Palette {
	cs := make([]color.Color, n)
	for i := range cs {
		v := r.Min() + (r.Max()-r.Min())*float64(i)/float64(max(n-1, 1))
		cs[i], _ = r.At(v)
	}
	return colors(cs)
}

type colors []color.Color

func (c colors) Colors() []color.Color { return c }
