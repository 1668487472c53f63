// pyparity benchmark driver (our own code, not OpenFace's): times C++ OpenFace's
// FaceAnalyser::PredictStaticAUsAndComputeFeatures per face, in one process, on given landmarks; with
// `video`, FeatureExtraction's FaceAnalyser (default, dynamic models) and AddNextFrame per frame of a
// sequence (Reset() before each pass: every pass is the same video again).
//   au_timer ROOT FACES REPEATS [video]
// ROOT: the folder holding AU_predictors/ (FaceAnalyserParameters' root); FACES: a text file, one face
// (video: one frame, in order) per line: "image_path n x0 .. x(n-1) y0 .. y(n-1)"; prints one line per
// timed call: "face_index ms" (the thread's CPU time: on a shared machine wall time counts the other
// processes' turns too).
// Built by benchmarks/bench_aus.py against the project's C++ recorder build (its static libraries).
#include <FaceAnalyser.h>
#include <FaceAnalyserParameters.h>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

static double thread_ms()
{
	timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char** argv)
{
	if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "video")) { std::fprintf(stderr, "usage: au_timer ROOT FACES REPEATS [video]\n"); return 2; }
	const bool video = argc == 5;
	FaceAnalysis::FaceAnalyserParameters params{std::string(argv[1])};
	if (!video) params.OptimizeForImages();
	FaceAnalysis::FaceAnalyser analyser(params);
	std::ifstream in(argv[2]);
	std::map<std::string, cv::Mat> images;
	std::vector<std::pair<std::string, cv::Mat_<float>>> faces;
	std::string line;
	while (std::getline(in, line))
	{
		std::istringstream ls(line);
		std::string path; int n = 0;
		if (!(ls >> path >> n)) continue;
		cv::Mat_<float> lm(2 * n, 1);
		for (int i = 0; i < 2 * n; ++i) ls >> lm(i);
		if (!images.count(path)) images[path] = cv::imread(path, cv::IMREAD_COLOR);
		if (images[path].empty()) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); return 2; }
		faces.emplace_back(path, lm);
	}
	const int repeats = std::atoi(argv[3]);
	if (video)
	{
		for (int r = 0; r <= repeats; ++r)    // pass 0: warm-up
		{
			analyser.Reset();
			for (size_t i = 0; i < faces.size(); ++i)
			{
				const double t0 = thread_ms();
				analyser.AddNextFrame(images[faces[i].first], faces[i].second, true, 0.0, false);
				if (r > 0) std::printf("%zu %.6f\n", i, thread_ms() - t0);
			}
		}
		return 0;
	}
	for (auto& f : faces) analyser.PredictStaticAUsAndComputeFeatures(images[f.first], f.second);   // warm-up
	for (int r = 0; r < repeats; ++r)
		for (size_t i = 0; i < faces.size(); ++i)
		{
			const double t0 = thread_ms();
			analyser.PredictStaticAUsAndComputeFeatures(images[faces[i].first], faces[i].second);
			std::printf("%zu %.6f\n", i, thread_ms() - t0);
		}
	return 0;
}
