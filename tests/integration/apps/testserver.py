"""The HTTP server class the test apps share: python's threading http.server, minus the name
lookup it does at bind time (getfqdn), which blocks in a pod without DNS."""
import http.server
import socketserver


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]
