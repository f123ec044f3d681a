module github.com/baton-go/baton

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/julienschmidt/httprouter v1.3.0
)
