# The backup and restore scripts' S3 client (ruby, from the front-end image, which has no curl): requests
# signed with AWS Signature Version 4, path-style URLs, so any S3-compatible server works.
#   put FILE KEY        upload FILE (one PUT, up to 5 GiB), then check the stored size
#   get KEY FILE        download KEY into FILE
#   prune PREFIX KEEP   keep the newest KEEP backups (opennebula-<time>.*) under PREFIX, delete the others
# Environment: S3_ENDPOINT (https://host[:port]) S3_REGION S3_BUCKET S3_ACCESS_KEY_ID_FILE
# S3_SECRET_ACCESS_KEY_FILE. Errors name the request and the server's answer; the exit status is 1.
require "net/http"
require "openssl"
require "time"
require "uri"

def fail!(message)
  warn "S3: #{message}"
  exit 1
end

ENDPOINT = URI(ENV.fetch("S3_ENDPOINT", ""))
fail!("S3_ENDPOINT #{ENDPOINT} is not an http(s) URL") unless %w[http https].include?(ENDPOINT.scheme) && ENDPOINT.host
REGION = ENV.fetch("S3_REGION", "us-east-1")
BUCKET = ENV.fetch("S3_BUCKET", "")
fail!("S3_BUCKET is not set") if BUCKET.empty?
begin
  KEY_ID = File.read(ENV.fetch("S3_ACCESS_KEY_ID_FILE")).strip
  SECRET = File.read(ENV.fetch("S3_SECRET_ACCESS_KEY_FILE")).strip
rescue KeyError, SystemCallError => e
  fail!("cannot read the access key: #{e.message}")
end

def escape(text)
  text.b.gsub(/[^A-Za-z0-9\-._~]/) { |c| format("%%%02X", c.ord) }
end

def hmac(key, data)
  OpenSSL::HMAC.digest("SHA256", key, data)
end

# One signed request; body is a File (streamed, hashed first) or a String.
def request(method, key, query: {}, body: "")
  path = "/#{escape(BUCKET)}" + (key ? "/" + key.split("/", -1).map { |s| escape(s) }.join("/") : "")
  payload = body.is_a?(File) ? OpenSSL::Digest::SHA256.file(body.path).hexdigest : OpenSSL::Digest::SHA256.hexdigest(body)
  now = Time.now.utc
  stamp = now.strftime("%Y%m%dT%H%M%SZ")
  day = now.strftime("%Y%m%d")
  host = ENDPOINT.port == ENDPOINT.default_port ? ENDPOINT.host : "#{ENDPOINT.host}:#{ENDPOINT.port}"
  headers = { "host" => host, "x-amz-content-sha256" => payload, "x-amz-date" => stamp }
  signed = headers.keys.sort.join(";")
  canonical_query = query.map { |k, v| "#{escape(k)}=#{escape(v.to_s)}" }.sort.join("&")
  canonical = [method, path, canonical_query, headers.sort.map { |k, v| "#{k}:#{v}\n" }.join, signed, payload].join("\n")
  scope = "#{day}/#{REGION}/s3/aws4_request"
  to_sign = ["AWS4-HMAC-SHA256", stamp, scope, OpenSSL::Digest::SHA256.hexdigest(canonical)].join("\n")
  signing_key = hmac(hmac(hmac(hmac("AWS4#{SECRET}", day), REGION), "s3"), "aws4_request")
  signature = OpenSSL::HMAC.hexdigest("SHA256", signing_key, to_sign)
  headers["authorization"] = "AWS4-HMAC-SHA256 Credential=#{KEY_ID}/#{scope}, SignedHeaders=#{signed}, Signature=#{signature}"
  uri = URI(ENDPOINT.to_s.chomp("/") + path + (canonical_query.empty? ? "" : "?#{canonical_query}"))
  http_request = Net::HTTPGenericRequest.new(method, method != "HEAD", method != "HEAD", uri.request_uri, headers.reject { |k| k == "host" })
  if body.is_a?(File)
    http_request.body_stream = body
    http_request["content-length"] = body.size.to_s
  elsif !body.empty?
    http_request.body = body
  end
  Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https", open_timeout: 15, read_timeout: 300) do |http|
    http.request(http_request) { |response| return yield(response) if block_given?; response.read_body; return response }
  end
rescue SystemCallError, IOError, Timeout::Error, OpenSSL::SSL::SSLError => e
  fail!("#{method} #{uri || path} failed: #{e.message}")
end

# A 2xx answer, else a failure naming the request and the server's error code and message.
def ok!(response, what)
  return response if response.code.to_i.between?(200, 299)
  body = response.body.to_s
  code, message = body[%r{<Code>([^<]*)</Code>}, 1], body[%r{<Message>([^<]*)</Message>}, 1]
  fail!("#{what}: HTTP #{response.code} #{code ? "#{code}: #{message}" : body.gsub(/\s+/, " ")[0, 300]}")
end

case ARGV[0]
when "put"
  file, key = ARGV[1], ARGV[2]
  File.open(file, "rb") { |io| ok!(request("PUT", key, body: io), "uploading #{file} to s3://#{BUCKET}/#{key}") }
  stored = ok!(request("HEAD", key), "checking s3://#{BUCKET}/#{key}")["content-length"].to_i
  fail!("s3://#{BUCKET}/#{key} holds #{stored} bytes, #{file} has #{File.size(file)}") unless stored == File.size(file)
  puts "copied #{file} to s3://#{BUCKET}/#{key}"
when "get"
  key, file = ARGV[1], ARGV[2]
  File.open(file, "wb") do |io|
    request("GET", key) do |response|
      ok!(response, "downloading s3://#{BUCKET}/#{key}") unless response.code == "200"
      response.read_body { |chunk| io.write(chunk) }
    end
  end
  puts "downloaded s3://#{BUCKET}/#{key}"
when "prune"
  prefix, keep = ARGV[1].to_s, Integer(ARGV[2])
  keys = []
  token = nil
  loop do
    query = { "list-type" => "2", "prefix" => prefix }
    query["continuation-token"] = token if token
    body = ok!(request("GET", nil, query: query), "listing s3://#{BUCKET}/#{prefix}").body
    keys += body.scan(%r{<Key>([^<]*)</Key>}).flatten.map { |k| k.gsub("&amp;", "&").gsub("&lt;", "<").gsub("&gt;", ">") }
    token = body[%r{<NextContinuationToken>([^<]*)</NextContinuationToken>}, 1]
    break unless body.include?("<IsTruncated>true</IsTruncated>") && token
  end
  backups = keys.filter_map { |k| k[/\A#{Regexp.escape(prefix)}opennebula-(\d{8}T\d{6}Z)\.(sql\.gz|one\.tar\.gz)\z/, 1] }.uniq.sort.reverse
  (backups.drop(keep)).each do |old|
    keys.select { |k| k.start_with?("#{prefix}opennebula-#{old}.") }.each do |k|
      ok!(request("DELETE", k), "deleting s3://#{BUCKET}/#{k}")
      puts "removed s3://#{BUCKET}/#{k}"
    end
  end
else
  fail!("usage: put FILE KEY | get KEY FILE | prune PREFIX KEEP")
end
