// pyparity_recorder.hpp — pyparity's header-only stage recorder for C++ reference implementations.
//
// Part of pyparity (MIT). This file is pyparity's own code; it contains no OpenFace source. The
// `pyparity reference openface build` command copies it next to the recording calls that it inserts
// into a copy of a user's OpenFace tree.
//
// Recording is off unless the environment variable PYPARITY_DUMP_DIR names an output folder; when off,
// every inserted call is a test of one cached boolean and the reference's arithmetic is untouched (the
// recorder only ever reads the reference's values).
//
// Output: pyparity's trace format (= the reference dump format, docs/reference-dump-format.md): one
// folder per input (or per frame) holding index.tsv, meta.json and arrays.npz (stored .npy members),
// written into a hidden temporary folder and renamed into place when complete.
//
// Environment:
//   PYPARITY_DUMP_DIR      output folder (recording on when set and not empty)
//   PYPARITY_DUMP_LEVEL    1 (default) or 2 (adds crops, grayscale image, Jacobians, Hessians, CEN internals)
//   PYPARITY_DUMP_MODELS   'relative/name=/abs/path' entries separated by ';' : sha256 of each goes to meta
//   PYPARITY_DUMP_META     a JSON object whose members are added to meta.json (parameters, command, ...)
//   PYPARITY_DUMP_FRAMES_DIR  FeatureExtraction: also write every frame as decoded (frameNNNN.png, lossless)
//   PYPARITY_DUMP_EXCLUDE  comma-separated stage-name components to leave out (e.g. "au")
//   PYPARITY_DUMP_PRODUCER_VERSION  the reference's version string (default "2.0.2")
//
// Parallel loops (tbb::parallel_for) record through a Region declared before the loop and an Item
// declared at the top of the loop body: each work item records into its own buffer, and the Region
// appends the buffers in index order, so the order of records does not depend on the scheduling.
#ifndef PYPARITY_RECORDER_HPP
#define PYPARITY_RECORDER_HPP

#include <opencv2/core/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

extern "C" char* openblas_get_corename(void) __attribute__((weak));

namespace pyparity_rec {

// ---------------------------------------------------------------------------------------------
// records and sinks

struct Record {
    std::string name;
    std::string descr;               // numpy dtype descr, e.g. "<f4"
    std::string dtype;               // numpy dtype name, e.g. "float32"
    std::vector<long long> shape;
    std::string data;                // raw little-endian bytes, C order
};

struct Sink {
    std::vector<Record> records;
};

struct Config {
    bool on = false;
    int level = 1;
    std::string out_dir;
    std::vector<std::string> exclude;  // stage-name components whose records are dropped (e.g. "au")
};

inline const Config& config() {
    static const Config cfg = [] {
        Config c;
        const char* d = std::getenv("PYPARITY_DUMP_DIR");
        if (d && *d) {
            c.on = true;
            c.out_dir = d;
        }
        const char* l = std::getenv("PYPARITY_DUMP_LEVEL");
        if (l && *l) c.level = std::atoi(l) >= 2 ? 2 : 1;
        const char* x = std::getenv("PYPARITY_DUMP_EXCLUDE");
        std::string xs = x ? x : "";
        size_t pos = 0;
        while (pos < xs.size()) {
            size_t end = xs.find(',', pos);
            if (end == std::string::npos) end = xs.size();
            if (end > pos) c.exclude.push_back(xs.substr(pos, end - pos));
            pos = end + 1;
        }
        return c;
    }();
    return cfg;
}

inline bool active() { return config().on; }
inline int level() { return config().level; }

struct ThreadState {
    std::vector<std::string> scope;
    Sink* sink = nullptr;            // a work item's buffer, or null for the dump itself
    int cen_detail = 0;              // >0 while a CEN landmark's internals are recorded
};

inline ThreadState& tls() {
    thread_local ThreadState s;
    return s;
}

struct Dump {
    std::mutex mu;
    bool open = false;
    std::string dir_name;            // final folder name under out_dir
    std::vector<Record> records;
    std::map<std::string, int> seen;
    std::string input_path;
    int height = 0, width = 0, channels = 0;
    std::string input_dtype;
    std::string pixels_sha256;       // of the decoded pixels (rows of BGR bytes): tells decoders apart
    std::string sequence_name;       // set for FeatureExtraction frames
    long long frame_index = -1;
    std::string video_path;
    long long dumps_written = 0;
    bool skip_if_empty = false;      // a summary dump (e.g. a video's AU post-processing) with nothing in it
};

inline Dump& dump() {
    static Dump d;
    return d;
}

inline std::string join_scope(const std::vector<std::string>& scope, const std::string& leaf) {
    std::string out;
    for (const auto& s : scope) {
        if (s.empty()) continue;
        out += s;
        out += '/';
    }
    return out + leaf;
}

inline bool excluded(const std::string& name) {
    for (const auto& x : config().exclude) {
        std::string mid = "/" + x + "/";
        if (name.compare(0, x.size() + 1, x + "/") == 0 || name.find(mid) != std::string::npos) return true;
    }
    return false;
}

inline void append_to_dump(Record&& r) {
    if (excluded(r.name)) return;
    Dump& d = dump();
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.open) return;  // a record outside any input (e.g. model loading): not part of a dump
    int& n = d.seen[r.name];
    if (n > 0) r.name += "__" + std::to_string(n);
    ++n;
    d.records.push_back(std::move(r));
}

inline void emit(Record&& r) {
    ThreadState& t = tls();
    if (t.sink) t.sink->records.push_back(std::move(r));
    else append_to_dump(std::move(r));
}

// ---------------------------------------------------------------------------------------------
// scopes

inline void push(const std::string& s) { if (active()) tls().scope.push_back(s); }
inline void pop() { if (active() && !tls().scope.empty()) tls().scope.pop_back(); }

class Scope {
  public:
    explicit Scope(const std::string& s) : pushed_(active()) { if (pushed_) tls().scope.push_back(s); }
    ~Scope() { if (pushed_ && !tls().scope.empty()) tls().scope.pop_back(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
  private:
    bool pushed_;
};

inline std::string fmt(const char* pattern, long long v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, pattern, v);
    return buf;
}

// A parallel loop: declare a Region before it, an Item at the top of its body, and call flush()
// right after it (the destructor flushes too, for loops that end their block).
class Region {
  public:
    explicit Region(long long n_items) : on_(active()) {
        if (!on_) return;
        scope_ = tls().scope;
        items_.resize(n_items > 0 ? (size_t)n_items : 0);
    }
    ~Region() { flush(); }
    void flush() {
        if (!on_ || flushed_) return;
        flushed_ = true;
        for (auto& item : items_)
            for (auto& r : item.records) emit(std::move(r));
        items_.clear();
    }
    const std::vector<std::string>& scope() const { return scope_; }
    Sink* item_sink(long long i) { return (on_ && i >= 0 && (size_t)i < items_.size()) ? &items_[(size_t)i] : nullptr; }
    bool on() const { return on_; }
  private:
    bool on_;
    bool flushed_ = false;
    std::vector<std::string> scope_;
    std::vector<Sink> items_;
};

class Item {
  public:
    Item(Region& region, long long index) : on_(region.on()) {
        if (!on_) return;
        ThreadState& t = tls();
        saved_scope_ = t.scope;
        saved_sink_ = t.sink;
        saved_cen_ = t.cen_detail;
        t.scope = region.scope();
        t.sink = region.item_sink(index);
        t.cen_detail = 0;
    }
    ~Item() {
        if (!on_) return;
        ThreadState& t = tls();
        t.scope = saved_scope_;
        t.sink = saved_sink_;
        t.cen_detail = saved_cen_;
    }
    Item(const Item&) = delete;
    Item& operator=(const Item&) = delete;
  private:
    bool on_;
    std::vector<std::string> saved_scope_;
    Sink* saved_sink_ = nullptr;
    int saved_cen_ = 0;
};

// ---------------------------------------------------------------------------------------------
// typed recording

template <typename T> struct NpType;
template <> struct NpType<unsigned char> { static const char* descr() { return "|u1"; } static const char* name() { return "uint8"; } };
template <> struct NpType<signed char> { static const char* descr() { return "|i1"; } static const char* name() { return "int8"; } };
template <> struct NpType<unsigned short> { static const char* descr() { return "<u2"; } static const char* name() { return "uint16"; } };
template <> struct NpType<short> { static const char* descr() { return "<i2"; } static const char* name() { return "int16"; } };
template <> struct NpType<int> { static const char* descr() { return "<i4"; } static const char* name() { return "int32"; } };
template <> struct NpType<long long> { static const char* descr() { return "<i8"; } static const char* name() { return "int64"; } };
template <> struct NpType<float> { static const char* descr() { return "<f4"; } static const char* name() { return "float32"; } };
template <> struct NpType<double> { static const char* descr() { return "<f8"; } static const char* name() { return "float64"; } };

template <typename T>
inline void record_raw(const std::string& leaf, const T* data, size_t count, std::vector<long long> shape) {
    if (!active()) return;
    Record r;
    r.name = join_scope(tls().scope, leaf);
    r.descr = NpType<T>::descr();
    r.dtype = NpType<T>::name();
    r.shape = std::move(shape);
    r.data.assign(reinterpret_cast<const char*>(data), count * sizeof(T));
    emit(std::move(r));
}

inline const char* depth_descr(int depth, const char** name, size_t* size) {
    switch (depth) {
        case CV_8U: *name = "uint8"; *size = 1; return "|u1";
        case CV_8S: *name = "int8"; *size = 1; return "|i1";
        case CV_16U: *name = "uint16"; *size = 2; return "<u2";
        case CV_16S: *name = "int16"; *size = 2; return "<i2";
        case CV_32S: *name = "int32"; *size = 4; return "<i4";
        case CV_32F: *name = "float32"; *size = 4; return "<f4";
        case CV_64F: *name = "float64"; *size = 8; return "<f8";
        default: *name = "uint8"; *size = 1; return "|u1";
    }
}

// A cv::Mat as it is held: shape (rows, cols) or (rows, cols, channels); `shape` overrides it.
inline void mat(const std::string& leaf, const cv::Mat& m, std::vector<long long> shape = {}) {
    if (!active()) return;
    cv::Mat c = m.isContinuous() ? m : m.clone();
    const char* name;
    size_t esize;
    Record r;
    r.descr = depth_descr(c.depth(), &name, &esize);
    r.dtype = name;
    r.name = join_scope(tls().scope, leaf);
    if (shape.empty()) {
        shape = {(long long)c.rows, (long long)c.cols};
        if (c.channels() > 1) shape.push_back(c.channels());
    }
    r.shape = std::move(shape);
    r.data.assign(reinterpret_cast<const char*>(c.data), c.total() * c.elemSize());
    emit(std::move(r));
}

template <typename T> inline void scalar(const std::string& leaf, T v) { record_raw<T>(leaf, &v, 1, {}); }
inline void i32(const std::string& leaf, long long v) { int x = (int)v; record_raw<int>(leaf, &x, 1, {}); }
inline void f32(const std::string& leaf, double v) { float x = (float)v; record_raw<float>(leaf, &x, 1, {}); }
inline void f64(const std::string& leaf, double v) { record_raw<double>(leaf, &v, 1, {}); }

template <typename T, int n> inline void vec(const std::string& leaf, const cv::Vec<T, n>& v) {
    record_raw<T>(leaf, v.val, (size_t)n, {(long long)n});
}
template <typename T, int m, int n> inline void matx(const std::string& leaf, const cv::Matx<T, m, n>& v) {
    record_raw<T>(leaf, v.val, (size_t)(m * n), {(long long)m, (long long)n});
}
template <typename T> inline void vector1d(const std::string& leaf, const std::vector<T>& v) {
    record_raw<T>(leaf, v.data(), v.size(), {(long long)v.size()});
}
inline void ints(const std::string& leaf, const std::vector<int>& v) { vector1d<int>(leaf, v); }
template <typename T> inline void ints_from(const std::string& leaf, const std::vector<T>& v) {
    std::vector<int> x(v.begin(), v.end());
    vector1d<int>(leaf, x);
}
inline void floats_from_bools(const std::string& leaf, const std::vector<bool>& v) {
    std::vector<int> x(v.begin(), v.end());
    vector1d<int>(leaf, x);
}
template <typename T> inline void doubles_from(const std::string& leaf, const std::vector<T>& v) {
    std::vector<double> x(v.begin(), v.end());
    vector1d<double>(leaf, x);
}
// second members of (name, value) pairs, e.g. OpenFace's AU predictions
template <typename P> inline void pair_values(const std::string& leaf, const std::vector<P>& v) {
    std::vector<double> x;
    for (const auto& p : v) x.push_back((double)p.second);
    vector1d<double>(leaf, x);
}

// boxes as (n, 4) float32 [x, y, w, h]
template <typename R> inline void boxes(const std::string& leaf, const std::vector<R>& v) {
    std::vector<float> x;
    for (const auto& b : v) { x.push_back((float)b.x); x.push_back((float)b.y); x.push_back((float)b.width); x.push_back((float)b.height); }
    record_raw<float>(leaf, x.data(), x.size(), {(long long)v.size(), 4});
}
template <typename R> inline void box64(const std::string& leaf, const R& b) {
    double x[4] = {(double)b.x, (double)b.y, (double)b.width, (double)b.height};
    record_raw<double>(leaf, x, 4, {4});
}

// same-sized single-channel float maps stacked as (k, h, w)
inline void stacked(const std::string& leaf, const std::vector<cv::Mat_<float> >& maps) {
    if (!active()) return;
    std::vector<float> x;
    long long h = maps.empty() ? 0 : maps[0].rows, w = maps.empty() ? 0 : maps[0].cols;
    for (const auto& m : maps) {
        cv::Mat_<float> c = m.isContinuous() ? m : m.clone();
        x.insert(x.end(), (const float*)c.data, (const float*)c.data + c.total());
    }
    record_raw<float>(leaf, x.data(), x.size(), {(long long)maps.size(), h, w});
}

// images of one size stacked as (k, h, w, c) (e.g. MTCNN crops)
inline void images(const std::string& leaf, const std::vector<cv::Mat>& ims, int h, int w, int c) {
    if (!active()) return;
    std::vector<float> x;
    for (const auto& m : ims) {
        cv::Mat f = m.isContinuous() ? m : m.clone();
        x.insert(x.end(), (const float*)f.data, (const float*)f.data + f.total() * f.channels());
    }
    record_raw<float>(leaf, x.data(), x.size(), {(long long)ims.size(), (long long)h, (long long)w, (long long)c});
}

// patch-expert responses (n, ws, ws): zeros where a landmark is not visible in the view
inline void responses(const std::string& leaf, const std::vector<cv::Mat_<float> >& resp, const cv::Mat_<int>& visible, int ws) {
    if (!active()) return;
    std::vector<float> x((size_t)resp.size() * ws * ws, 0.0f);
    for (size_t i = 0; i < resp.size(); ++i) {
        bool vis = visible.rows > (int)i && visible(i, 0) != 0;
        if (!vis || resp[i].rows != ws || resp[i].cols != ws) continue;
        for (int r = 0; r < ws; ++r)
            for (int c = 0; c < ws; ++c) x[i * ws * ws + r * ws + c] = resp[i](r, c);
    }
    record_raw<float>(leaf, x.data(), x.size(), {(long long)resp.size(), (long long)ws, (long long)ws});
}

// the diagonal of a square matrix as (n, 1)
inline void diag(const std::string& leaf, const cv::Mat& m) { if (active()) mat(leaf, m.diag().clone()); }

// ---------------------------------------------------------------------------------------------
// CEN internals: a landmark's records are wanted at level 2, scale 0, for a few landmarks.

inline bool cen_landmark_wanted(int landmark, int scale) {
    return active() && level() >= 2 && scale == 0 && (landmark == 0 || landmark == 30 || landmark == 36);
}
inline bool cen_detail() { return active() && tls().cen_detail > 0; }

class CenLandmark {
  public:
    CenLandmark(bool wanted, int landmark) : on_(wanted) {
        if (!on_) return;
        tls().scope.push_back(fmt("cen/lm%02lld", landmark));
        tls().cen_detail++;
    }
    ~CenLandmark() {
        if (!on_) return;
        tls().scope.pop_back();
        tls().cen_detail--;
    }
    CenLandmark(const CenLandmark&) = delete;
    CenLandmark& operator=(const CenLandmark&) = delete;
  private:
    bool on_;
};

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for the input's and the models' checksums in meta.json

class Sha256 {
  public:
    Sha256() { reset(); }
    void reset() {
        static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
        std::memcpy(h_, init, sizeof h_);
        len_ = 0;
        used_ = 0;
    }
    void update(const unsigned char* p, size_t n) {
        len_ += n;
        while (n > 0) {
            size_t take = 64 - used_ < n ? 64 - used_ : n;
            std::memcpy(buf_ + used_, p, take);
            used_ += take; p += take; n -= take;
            if (used_ == 64) { block(buf_); used_ = 0; }
        }
    }
    std::string hexdigest() {
        uint64_t bits = len_ * 8;
        unsigned char pad = 0x80;
        update(&pad, 1);
        unsigned char zero = 0;
        while (used_ != 56) update(&zero, 1);
        unsigned char lenb[8];
        for (int i = 0; i < 8; ++i) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
        update(lenb, 8);
        char out[65];
        for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h_[i]);
        return std::string(out, 64);
    }
  private:
    static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
    void block(const unsigned char* b) {
        static const uint32_t k[64] = {
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
            0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
            0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
            0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
            0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
            0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
            0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
        uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
        for (int i = 16; i < 64; ++i) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h_[0], bb = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
        for (int i = 0; i < 64; ++i) {
            uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            uint32_t ch = (e & f) ^ (~e & g);
            uint32_t t1 = h + S1 + ch + k[i] + w[i];
            uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            uint32_t mj = (a & bb) ^ (a & c) ^ (bb & c);
            uint32_t t2 = S0 + mj;
            h = g; g = f; f = e; e = d + t1; d = c; c = bb; bb = a; a = t1 + t2;
        }
        h_[0] += a; h_[1] += bb; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
    }
    uint32_t h_[8];
    uint64_t len_;
    unsigned char buf_[64];
    size_t used_;
};

inline std::string sha256_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return "";
    Sha256 s;
    std::vector<char> buf(1 << 16);
    while (f) {
        f.read(buf.data(), (std::streamsize)buf.size());
        std::streamsize got = f.gcount();
        if (got > 0) s.update(reinterpret_cast<const unsigned char*>(buf.data()), (size_t)got);
    }
    return s.hexdigest();
}

// ---------------------------------------------------------------------------------------------
// writing a dump: .npy members in a stored (uncompressed) zip, index.tsv, meta.json

inline uint32_t crc32(const std::string& data) {
    static uint32_t table[256];
    static bool ready = false;
    if (!ready) {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

inline std::string npy_bytes(const Record& r) {
    std::string shape = "(";
    for (size_t i = 0; i < r.shape.size(); ++i) shape += std::to_string(r.shape[i]) + (r.shape.size() == 1 ? "," : (i + 1 < r.shape.size() ? ", " : ""));
    shape += ")";
    std::string header = "{'descr': '" + r.descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t total = 10 + header.size() + 1;
    size_t pad = (64 - total % 64) % 64;
    header.append(pad, ' ');
    header += '\n';
    std::string out("\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)header.size();
    out += (char)(hl & 0xFF);
    out += (char)(hl >> 8);
    out += header;
    out += r.data;
    return out;
}

inline void put16(std::string& s, uint32_t v) { s += (char)(v & 0xFF); s += (char)((v >> 8) & 0xFF); }
inline void put32(std::string& s, uint32_t v) { put16(s, v & 0xFFFF); put16(s, v >> 16); }

inline bool write_zip(const std::string& path, const std::vector<Record>& recs) {
    std::ofstream f(path, std::ios::binary);
    if (!f) return false;
    std::string central;
    uint64_t offset = 0;
    for (const auto& r : recs) {
        std::string name = r.name + ".npy";
        std::string body = npy_bytes(r);
        uint32_t crc = crc32(body);
        if (offset > 0xFFFFFFF0ull || body.size() > 0xFFFFFFF0ull) return false;
        std::string local;
        put32(local, 0x04034b50); put16(local, 20); put16(local, 0); put16(local, 0);
        put16(local, 0); put16(local, 0x21);  // time 00:00:02, date 1980-01-01
        put32(local, crc); put32(local, (uint32_t)body.size()); put32(local, (uint32_t)body.size());
        put16(local, (uint32_t)name.size()); put16(local, 0);
        local += name;
        put32(central, 0x02014b50); put16(central, 20); put16(central, 20); put16(central, 0); put16(central, 0);
        put16(central, 0); put16(central, 0x21);
        put32(central, crc); put32(central, (uint32_t)body.size()); put32(central, (uint32_t)body.size());
        put16(central, (uint32_t)name.size()); put16(central, 0); put16(central, 0); put16(central, 0); put16(central, 0);
        put32(central, 0); put32(central, (uint32_t)offset);
        central += name;
        f.write(local.data(), (std::streamsize)local.size());
        f.write(body.data(), (std::streamsize)body.size());
        offset += local.size() + body.size();
    }
    if (recs.size() > 0xFFFF) return false;
    std::string end;
    put32(end, 0x06054b50); put16(end, 0); put16(end, 0);
    put16(end, (uint32_t)recs.size()); put16(end, (uint32_t)recs.size());
    put32(end, (uint32_t)central.size()); put32(end, (uint32_t)offset); put16(end, 0);
    f.write(central.data(), (std::streamsize)central.size());
    f.write(end.data(), (std::streamsize)end.size());
    f.flush();
    return (bool)f;
}

inline std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\t': o += "\\t"; break;
            default:
                if ((unsigned char)c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); o += b; }
                else o += c;
        }
    }
    return o + "\"";
}

inline std::string base_name(const std::string& p) {
    size_t k = p.find_last_of('/');
    return k == std::string::npos ? p : p.substr(k + 1);
}

inline std::string blas_core() {
    const char* env = std::getenv("OPENBLAS_CORETYPE");
    std::string core = openblas_get_corename ? std::string(openblas_get_corename()) : std::string("unknown");
    return core + (env && *env ? std::string(" (OPENBLAS_CORETYPE=") + env + ")" : std::string());
}

inline const std::string& models_json() {
    static const std::string js = [] {
        std::string out = "{";
        const char* spec = std::getenv("PYPARITY_DUMP_MODELS");
        std::string s = spec ? spec : "";
        size_t pos = 0;
        bool first = true;
        while (pos < s.size()) {
            size_t end = s.find(';', pos);
            if (end == std::string::npos) end = s.size();
            std::string item = s.substr(pos, end - pos);
            pos = end + 1;
            size_t eq = item.find('=');
            if (eq == std::string::npos) continue;
            std::string digest = sha256_file(item.substr(eq + 1));
            if (digest.empty()) continue;
            out += (first ? "\n  " : ",\n  ") + json_str(item.substr(0, eq)) + ": " + json_str(digest);
            first = false;
        }
        return out + (first ? "}" : "\n }");
    }();
    return js;
}

inline void remove_tree(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        if (DIR* d = opendir(path.c_str())) {
            while (dirent* e = readdir(d)) {
                std::string n = e->d_name;
                if (n == "." || n == "..") continue;
                remove_tree(path + "/" + n);
            }
            closedir(d);
        }
        rmdir(path.c_str());
    } else {
        unlink(path.c_str());
    }
}

inline bool write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
    f.flush();
    return (bool)f;
}

inline std::string meta_json(const Dump& d) {
    const char* ver = std::getenv("PYPARITY_DUMP_PRODUCER_VERSION");
    std::ostringstream m;
    m << "{\n \"format\": \"reference-dump\",\n \"version\": 1,\n";
    m << " \"producer\": {\"name\": \"openface-cpp\", \"version\": " << json_str(ver && *ver ? ver : "2.0.2")
      << ", \"build\": " << json_str(std::string("OpenFace sources with pyparity's recording kit; OpenCV ") + CV_VERSION)
      << ", \"recorder\": \"pyparity_recorder.hpp\", \"blas_core\": " << json_str(blas_core())
      << ", \"dump_level\": " << level() << "},\n";
    std::string digest = d.input_path.empty() ? "" : sha256_file(d.input_path);
    m << " \"input\": {\"file\": " << json_str(base_name(d.input_path)) << ", \"sha256\": " << json_str(digest)
      << ", \"height\": " << d.height << ", \"width\": " << d.width << ", \"channels\": " << d.channels
      << ", \"dtype\": " << json_str(d.input_dtype) << ", \"pixels_sha256\": " << json_str(d.pixels_sha256) << "},\n";
    if (!d.sequence_name.empty())
        m << " \"sequence\": {\"name\": " << json_str(d.sequence_name) << ", \"frame_index\": " << d.frame_index << "},\n";
    m << " \"models\": " << models_json() << ",\n";
    const char* extra = std::getenv("PYPARITY_DUMP_META");
    if (extra && *extra) {
        std::string e = extra;
        size_t a = e.find('{'), b = e.rfind('}');
        if (a != std::string::npos && b != std::string::npos && b > a) {
            std::string inner = e.substr(a + 1, b - a - 1);
            if (inner.find_first_not_of(" \t\r\n") != std::string::npos) m << " " << inner << ",\n";
        }
    }
    m << " \"conventions\": {\"landmarks\": \"names ending in _stacked hold OpenFace's stacked layout, shape (2N,1): [x0..xN-1, y0..yN-1]\", "
         "\"box\": \"[x, y, w, h] unless the name ends in _xyxy\", "
         "\"params_global\": \"[scale, rx, ry, rz, tx, ty]: PDM scale, Euler XYZ radians, translation in pixels\", "
         "\"duplicates\": \"a name recorded twice in one dump gets a __1, __2 suffix on the later records\"}\n}\n";
    return m.str();
}

// ---------------------------------------------------------------------------------------------
// inputs and dumps

inline void note_input_file(const std::string& path) { if (active()) { std::lock_guard<std::mutex> l(dump().mu); dump().input_path = path; } }
inline void note_video_file(const std::string& path) { if (active()) { std::lock_guard<std::mutex> l(dump().mu); dump().video_path = path; } }
inline void note_frame_file(const std::string& path) { if (active()) { std::lock_guard<std::mutex> l(dump().mu); dump().input_path = path.empty() ? dump().video_path : path; } }

inline std::string pixels_sha256(const cv::Mat& im) {
    if (im.empty()) return "";
    cv::Mat c = im.isContinuous() ? im : im.clone();
    Sha256 s;
    s.update(c.data, c.total() * c.elemSize());
    return s.hexdigest();
}

inline void describe_image(Dump& d, const cv::Mat& im) {
    d.pixels_sha256 = pixels_sha256(im);
    d.height = im.rows;
    d.width = im.cols;
    d.channels = im.channels();
    const char* name;
    size_t esize;
    depth_descr(im.depth(), &name, &esize);
    d.input_dtype = name;
}

inline void begin(const std::string& dir_name, const cv::Mat& image) {
    if (!active()) return;
    Dump& d = dump();
    std::lock_guard<std::mutex> lock(d.mu);
    d.open = true;
    d.skip_if_empty = false;
    d.dir_name = dir_name;
    d.records.clear();
    d.seen.clear();
    describe_image(d, image);
}

// FaceLandmarkImg: one dump per image, named after the image file
inline void begin_image(const cv::Mat& image) {
    if (!active()) return;
    std::string name;
    { std::lock_guard<std::mutex> l(dump().mu); name = base_name(dump().input_path); dump().sequence_name.clear(); }
    begin(name.empty() ? fmt("image%04lld", dump().dumps_written) : name, image);
}

// FeatureExtraction: one dump per frame, frameNNNN
inline void begin_frame(const cv::Mat& image, long long frame_index, const std::string& sequence) {
    if (!active()) return;
    begin(fmt("frame%04lld", frame_index), image);
    const char* frames_dir = std::getenv("PYPARITY_DUMP_FRAMES_DIR");
    if (frames_dir && *frames_dir && !image.empty()) {
        mkdir(frames_dir, 0755);
        cv::imwrite(std::string(frames_dir) + "/" + fmt("frame%04lld.png", frame_index), image);
    }
    std::lock_guard<std::mutex> l(dump().mu);
    dump().sequence_name = base_name(sequence);
    dump().frame_index = frame_index;
}

// A dump that is not about one image or frame (FeatureExtraction's end-of-video AU post-processing):
// no input image; not written when nothing was recorded in it.
inline void begin_summary(const std::string& dir_name) {
    if (!active()) return;
    bool was_open;
    { std::lock_guard<std::mutex> l(dump().mu); was_open = dump().open; }
    if (was_open) return;  // inside a frame's dump: record there
    begin(dir_name, cv::Mat());
    std::lock_guard<std::mutex> l(dump().mu);
    dump().skip_if_empty = true;
}

// template helper: the per-AU series of a map<string, vector<double>> as one stage per AU
template <typename M> inline void series(const std::string& prefix, const M& by_name) {
    for (const auto& kv : by_name) vector1d<double>(prefix + "/" + kv.first, kv.second);
}
template <typename V> inline void named_series(const std::string& prefix, const V& pairs) {
    for (const auto& kv : pairs) vector1d<double>(prefix + "/" + kv.first, kv.second);
}

inline void end() {
    if (!active()) return;
    Dump& d = dump();
    std::lock_guard<std::mutex> lock(d.mu);
    if (!d.open) return;
    d.open = false;
    if (d.skip_if_empty && d.records.empty()) {
        d.seen.clear();
        return;
    }
    const std::string& out = config().out_dir;
    mkdir(out.c_str(), 0755);
    std::string final_dir = out + "/" + d.dir_name;
    std::string tmp = out + "/." + d.dir_name + ".partial-" + std::to_string((long long)getpid());
    remove_tree(tmp);
    if (mkdir(tmp.c_str(), 0755) != 0) {
        std::fprintf(stderr, "pyparity-recorder: cannot create %s: %s\n", tmp.c_str(), std::strerror(errno));
        std::exit(3);
    }
    std::string index = "seq\tname\tdtype\tshape\n";
    for (size_t i = 0; i < d.records.size(); ++i) {
        const Record& r = d.records[i];
        std::string shape;
        for (size_t k = 0; k < r.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(r.shape[k]);
        index += std::to_string(i) + "\t" + r.name + "\t" + r.dtype + "\t" + shape + "\n";
    }
    bool ok = write_zip(tmp + "/arrays.npz", d.records) && write_text(tmp + "/index.tsv", index) &&
              write_text(tmp + "/meta.json", meta_json(d));
    if (!ok) {
        std::fprintf(stderr, "pyparity-recorder: cannot write the dump %s\n", tmp.c_str());
        remove_tree(tmp);
        std::exit(3);
    }
    remove_tree(final_dir);
    if (std::rename(tmp.c_str(), final_dir.c_str()) != 0) {
        std::fprintf(stderr, "pyparity-recorder: cannot rename %s: %s\n", tmp.c_str(), std::strerror(errno));
        std::exit(3);
    }
    d.records.clear();
    d.seen.clear();
    d.dumps_written++;
    std::fprintf(stdout, "pyparity-dump: %s\n", final_dir.c_str());
    std::fflush(stdout);
}

inline void end_summary() {
    if (!active()) return;
    bool summary;
    { std::lock_guard<std::mutex> l(dump().mu); summary = dump().open && dump().skip_if_empty; }
    if (summary) end();
}

}  // namespace pyparity_rec

namespace ppr = pyparity_rec;

#define PPR_ON (::pyparity_rec::active())
#define PPR_L2 (::pyparity_rec::active() && ::pyparity_rec::level() >= 2)
#define PPR_CAT2(a, b) a##b
#define PPR_CAT(a, b) PPR_CAT2(a, b)
// An RAII scope: the name is pushed for the rest of the enclosing block.
#define PPR_SCOPE(expr) ::pyparity_rec::Scope PPR_CAT(_ppr_scope_, __LINE__)(::pyparity_rec::active() ? std::string(expr) : std::string())

#endif  // PYPARITY_RECORDER_HPP
