# The credentials Job's script (ruby, from the front-end image): creates each Secret the chart needs that
# does not exist yet, with random values, through the Kubernetes API; an existing Secret is never
# changed. So passwords are made once, in the cluster, and a renderer without `lookup` (helm template,
# Argo CD) never produces new ones.
# Environment: GENERATED_SECRETS, a JSON list of {"name", "keys", "labels"}; KUBERNETES_SERVICE_HOST and
# KUBERNETES_SERVICE_PORT (set by Kubernetes); SERVICEACCOUNT_DIR (token, ca.crt, namespace; default the
# mounted service account).
require 'json'
require 'net/http'
require 'openssl'
require 'securerandom'

def fail!(message)
  warn "credentials FAILED: #{message}"
  exit 1
end

account = ENV.fetch('SERVICEACCOUNT_DIR', '/var/run/secrets/kubernetes.io/serviceaccount')
host = ENV['KUBERNETES_SERVICE_HOST'].to_s
port = ENV['KUBERNETES_SERVICE_PORT'].to_s
fail!('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not in a Kubernetes pod?') if host.empty? || port.empty?
begin
  token = File.read(File.join(account, 'token')).strip
  namespace = File.read(File.join(account, 'namespace')).strip
  secrets = JSON.parse(ENV.fetch('GENERATED_SECRETS'))
rescue KeyError, Errno::ENOENT, JSON::ParserError => e
  fail!("cannot read the service account in #{account} or GENERATED_SECRETS: #{e.message}")
end

http = Net::HTTP.new(host, Integer(port))
http.use_ssl = true
http.verify_mode = OpenSSL::SSL::VERIFY_PEER
http.ca_file = File.join(account, 'ca.crt')
http.open_timeout = 10
http.read_timeout = 30
headers = { 'Authorization' => "Bearer #{token}", 'Content-Type' => 'application/json', 'Accept' => 'application/json' }
collection = "/api/v1/namespaces/#{namespace}/secrets"

secrets.each do |secret|
  name = secret.fetch('name')
  keys = secret.fetch('keys')
  body = {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: { name: name, labels: secret.fetch('labels', {}) },
    stringData: keys.to_h { |key| [key, SecureRandom.alphanumeric(32)] }
  }
  created = http.request(Net::HTTP::Post.new(collection, headers), JSON.generate(body))
  case created.code.to_i
  when 201
    puts "created Secret #{name} (#{keys.join(', ')})"
  when 409
    existing = http.request(Net::HTTP::Get.new("#{collection}/#{name}", headers))
    fail!("cannot read the existing Secret #{name}: HTTP #{existing.code} #{existing.body}") unless existing.code.to_i == 200
    missing = keys - (JSON.parse(existing.body)['data'] || {}).keys
    fail!("the existing Secret #{name} has no #{missing.join(', ')}: add them, or delete the Secret to have new ones made") unless missing.empty?
    puts "kept Secret #{name}"
  else
    fail!("creating Secret #{name} in #{namespace} failed: HTTP #{created.code} #{created.body}")
  end
end
