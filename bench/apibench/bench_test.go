// Package apibench measures a typed baton handler against the same
// handler written by hand with Request.Parse, and against gin's
// ShouldBindJSON with its validator, in one run. It is a module of its
// own so that baton's go.mod does not depend on gin.
package apibench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"testing"
	"unicode/utf8"

	"github.com/baton-go/baton"
	"github.com/baton-go/baton/g"
	"github.com/gin-gonic/gin"
)

const body = `{"name":"bobby","age":20,"email":"bob@example.com","tags":["a","b"]}`

const want = `{"code":0,"message":"","data":{"id":7,"name":"bobby","age":20,"email":"bob@example.com","tags":["a","b"]}}`

// The request and response of the typed handler.
type CreateReq struct {
	g.Meta `path:"/user" method:"post"`
	Name   string   `json:"name" v:"required|length:3,16"`
	Age    int      `json:"age" v:"min:18"`
	Email  string   `json:"email" v:"email"`
	Tags   []string `json:"tags"`
}

type User struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Age   int      `json:"age"`
	Email string   `json:"email"`
	Tags  []string `json:"tags"`
}

type CreateRes struct{ User }

func create(ctx context.Context, req *CreateReq) (*CreateRes, error) {
	return &CreateRes{User{ID: 7, Name: req.Name, Age: req.Age, Email: req.Email, Tags: req.Tags}}, nil
}

// handParse is the same handler written by hand: Parse, checks, envelope.
func handParse(r *baton.Request) {
	var req struct {
		Name  string   `json:"name"`
		Age   int      `json:"age"`
		Email string   `json:"email"`
		Tags  []string `json:"tags"`
	}
	if err := r.Parse(&req); err != nil {
		r.Response.WriteError(err)
		return
	}
	if n := utf8.RuneCountInString(req.Name); n < 3 || n > 16 || req.Age < 18 {
		r.Response.WriteHeader(http.StatusBadRequest)
		r.Response.WriteJson(baton.Envelope{Code: 51, Message: "invalid"})
		return
	}
	if _, err := mail.ParseAddress(req.Email); err != nil {
		r.Response.WriteHeader(http.StatusBadRequest)
		r.Response.WriteJson(baton.Envelope{Code: 51, Message: "invalid email"})
		return
	}
	r.Response.WriteJson(baton.Envelope{Data: User{ID: 7, Name: req.Name, Age: req.Age, Email: req.Email, Tags: req.Tags}})
}

// ginReq is the request as gin users write it, with validator's tags.
type ginReq struct {
	Name  string   `json:"name" binding:"required,min=3,max=16"`
	Age   int      `json:"age" binding:"min=18"`
	Email string   `json:"email" binding:"email"`
	Tags  []string `json:"tags"`
}

func ginHandler(c *gin.Context) {
	var req ginReq
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"code": 51, "message": err.Error()})
		return
	}
	c.JSON(http.StatusOK, baton.Envelope{Data: User{ID: 7, Name: req.Name, Age: req.Age, Email: req.Email, Tags: req.Tags}})
}

func servers() map[string]http.Handler {
	quiet := func(s *baton.Server) *baton.Server {
		s.SetAccessLogEnabled(false)
		s.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
		return s
	}
	typed := quiet(baton.New())
	typed.Group("/", func(grp *baton.RouterGroup) { grp.POST("/user", create) })
	hand := quiet(baton.New())
	hand.BindHandler("POST:/user", handParse)
	gin.SetMode(gin.ReleaseMode)
	ge := gin.New()
	ge.POST("/user", ginHandler)
	return map[string]http.Handler{"typed": typed, "parse": hand, "gin": ge}
}

// sink is a ResponseWriter that keeps the body of the last response.
type sink struct {
	h      http.Header
	status int
	buf    bytes.Buffer
}

func (w *sink) Header() http.Header         { return w.h }
func (w *sink) WriteHeader(status int)      { w.status = status }
func (w *sink) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *sink) reset() {
	clear(w.h)
	w.status = 0
	w.buf.Reset()
}

// BenchmarkCreate serves the same JSON POST by each server; the three
// answer the same envelope (TestSameAnswer).
func BenchmarkCreate(b *testing.B) {
	hs := servers()
	for _, name := range []string{"typed", "parse", "gin"} {
		h := hs[name]
		b.Run(name, func(b *testing.B) {
			req, _ := http.NewRequest("POST", "/user", nil)
			req.Header.Set("Content-Type", "application/json")
			rd := bytes.NewReader(nil)
			req.Body = io.NopCloser(rd)
			w := &sink{h: http.Header{}}
			data := []byte(body)
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(data)
				req.Body = io.NopCloser(rd)
				req.ContentLength = int64(len(data))
				w.reset()
				h.ServeHTTP(w, req)
			}
		})
	}
}

func TestSameAnswer(t *testing.T) {
	for name, h := range servers() {
		req, _ := http.NewRequest("POST", "/user", bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		w := &sink{h: http.Header{}}
		h.ServeHTTP(w, req)
		if got := bytes.TrimSpace(w.buf.Bytes()); string(got) != want || (w.status != 0 && w.status != 200) {
			t.Errorf("%s: got %d %s, want 200 %s", name, w.status, got, want)
		}
		bad, _ := http.NewRequest("POST", "/user", bytes.NewReader([]byte(`{"name":"b","age":2,"email":"x"}`)))
		bad.Header.Set("Content-Type", "application/json")
		w = &sink{h: http.Header{}}
		h.ServeHTTP(w, bad)
		if w.status != http.StatusBadRequest {
			t.Errorf("%s: invalid request got %d %s, want 400", name, w.status, w.buf.Bytes())
		}
	}
}
