// Package pb holds the Go types generated from onnx.proto (ONNX 1.12.0,
// Apache-2.0, copied unchanged from the onnx Python package), decoded with
// google.golang.org/protobuf.
//
// Regenerate with protoc (Debian's protobuf-compiler) and protoc-gen-go
// v1.36.12 on PATH: go generate ./onnx/internal/pb
package pb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/jacobi-ad/jacobi/onnx/internal/pb onnx.proto
