# The backup and restore scripts' S3 client (ruby, from the front-end image, which has no curl): requests
# signed with AWS Signature Version 4, path-style URLs, so any S3-compatible server works.
#   put FILE KEY        upload FILE, then check the stored size: one PUT up to S3_MULTIPART_THRESHOLD bytes,
#                       above it a multipart upload in parts of S3_PART_SIZE bytes (S3 refuses a single PUT
#                       over 5 GiB, EntityTooLarge), aborted when any part fails (no parts left billed)
#   get KEY FILE        download KEY into FILE
#   prune PREFIX KEEP   keep the newest KEEP backups (opennebula-<time>.*) under PREFIX, delete the others
# Environment: S3_ENDPOINT (https://host[:port]) S3_REGION S3_BUCKET S3_ACCESS_KEY_ID_FILE
# S3_SECRET_ACCESS_KEY_FILE S3_MULTIPART_THRESHOLD S3_PART_SIZE. Errors name the request and the server's
# answer; the exit status is 1.
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

# S3's limits (docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html): a single PUT up to 5 GiB; parts
# of 5 MiB to 5 GiB (the last one may be smaller), at most 10,000 of them.
MIB = 2**20
SINGLE_PUT_MAX = 5 * 2**30
PART_MIN = 5 * MIB
MAX_PARTS = 10_000

def size_setting(name, default, min, max)
  value = ENV.fetch(name, "").empty? ? default : Integer(ENV[name], 10)
  fail!("#{name} must be between #{min} and #{max} bytes (S3's limits), got #{value}") unless value.between?(min, max)
  value
rescue ArgumentError
  fail!("#{name} must be a whole number of bytes, got #{ENV[name].inspect}")
end
THRESHOLD = size_setting("S3_MULTIPART_THRESHOLD", 256 * MIB, 1, SINGLE_PUT_MAX)
PART_SIZE = size_setting("S3_PART_SIZE", 64 * MIB, PART_MIN, SINGLE_PUT_MAX)

# LENGTH bytes of FILE from OFFSET, read as a request body stream (a part, without holding it in memory).
class Slice
  attr_reader :size

  def initialize(file, offset, length)
    @file, @offset, @size, @pos = file, offset, length, 0
  end

  def read(length = nil, buffer = nil)
    left = @size - @pos
    data = left.zero? ? nil : @file.pread(length ? [length, left].min : left, @offset + @pos)
    @pos += data.bytesize if data
    return (length ? nil : "".b) unless data
    buffer ? buffer.replace(data) : data
  end

  def rewind
    @pos = 0
  end

  def sha256
    digest = OpenSSL::Digest.new("SHA256")
    rewind
    while (chunk = read(MIB)) do digest.update(chunk) end
    rewind
    digest.hexdigest
  end
end

def escape(text)
  text.b.gsub(/[^A-Za-z0-9\-._~]/) { |c| format("%%%02X", c.ord) }
end

def hmac(key, data)
  OpenSSL::HMAC.digest("SHA256", key, data)
end

# One signed request; body is a File or a Slice (streamed, hashed first) or a String.
def request(method, key, query: {}, body: "")
  path = "/#{escape(BUCKET)}" + (key ? "/" + key.split("/", -1).map { |s| escape(s) }.join("/") : "")
  payload = case body
            when File then OpenSSL::Digest::SHA256.file(body.path).hexdigest
            when Slice then body.sha256
            else OpenSSL::Digest::SHA256.hexdigest(body)
            end
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
  if body.is_a?(File) || body.is_a?(Slice)
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

def xml_escape(text)
  text.gsub("&", "&amp;").gsub("<", "&lt;").gsub(">", "&gt;")
end

# A multipart upload of FILE (S3 CreateMultipartUpload, UploadPart, CompleteMultipartUpload); any failure
# aborts it (AbortMultipartUpload), so that the bucket keeps no parts of it.
def put_multipart(file, key)
  size = File.size(file)
  part_size = [PART_SIZE, (size + MAX_PARTS - 1) / MAX_PARTS].max
  where = "s3://#{BUCKET}/#{key}"
  started = ok!(request("POST", key, query: { "uploads" => "" }), "starting a multipart upload of #{file} to #{where}")
  upload = started.body.to_s[%r{<UploadId>([^<]*)</UploadId>}, 1] or fail!("starting a multipart upload to #{where}: no UploadId in #{started.body.to_s[0, 300]}")
  begin
    parts = File.open(file, "rb") do |io|
      (0...size).step(part_size).each_with_index.map do |offset, index|
        slice = Slice.new(io, offset, [part_size, size - offset].min)
        answer = ok!(request("PUT", key, query: { "partNumber" => index + 1, "uploadId" => upload }, body: slice),
                     "uploading part #{index + 1} of #{file} to #{where}")
        "<Part><PartNumber>#{index + 1}</PartNumber><ETag>#{xml_escape(answer["etag"].to_s)}</ETag></Part>"
      end
    end
    done = ok!(request("POST", key, query: { "uploadId" => upload }, body: "<CompleteMultipartUpload>#{parts.join}</CompleteMultipartUpload>"),
               "completing the multipart upload of #{file} to #{where}")
    # S3 may answer 200 and still fail the completion, with an error document as the body.
    if (code = done.body.to_s[%r{<Error>.*?<Code>([^<]*)</Code>}m, 1])
      fail!("completing the multipart upload of #{file} to #{where}: #{code}: #{done.body.to_s[%r{<Message>([^<]*)</Message>}, 1]}")
    end
    puts "uploaded #{file} to #{where} in #{parts.size} parts of #{part_size} bytes"
  rescue SystemExit
    begin
      request("DELETE", key, query: { "uploadId" => upload })
      warn "S3: aborted the multipart upload #{upload} of #{where}"
    rescue SystemExit
      warn "S3: could not abort the multipart upload #{upload} of #{where}: its parts stay in the bucket until a lifecycle rule removes them"
    end
    raise
  end
end

case ARGV[0]
when "put"
  file, key = ARGV[1], ARGV[2]
  if File.size(file) > THRESHOLD
    put_multipart(file, key)
  else
    File.open(file, "rb") { |io| ok!(request("PUT", key, body: io), "uploading #{file} to s3://#{BUCKET}/#{key}") }
  end
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
