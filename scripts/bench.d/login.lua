-- wrk script: log in over and over, so password hashing keeps the server busy.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench-login@example.com","password":"Bench-Marks-2026"}'
