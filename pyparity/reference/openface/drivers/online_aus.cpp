// pyparity reference driver (our own code, not OpenFace's): FaceAnalyser's webcam path, recorded.
//   online_aus ROOT FRAMES SEQUENCE_NAME
// ROOT: the folder holding AU_predictors/ (FaceAnalyserParameters' root: FeatureExtraction's default,
// dynamic models); FRAMES: a text file, one frame per line:
//   "image_path success timestamp n x0 .. x(n-1) y0 .. y(n-1)"
// For each line: FaceAnalyser::AddNextFrame(image, landmarks, success, timestamp, online = true), the call
// FeatureExtraction makes for webcam input (where it runs CorrectOnlineAUs); on files FeatureExtraction
// passes online = false, so its recordings never reach CorrectOnlineAUs. With PYPARITY_DUMP_DIR set,
// every frame is one dump (the recording kit's own stages, `face00/au/...`, including
// `online_correction/input` and `reg/online_corrected`), written as FeatureExtraction's are; this file
// only opens and closes the dumps (pyparity_recorder.hpp is pyparity's header, part of the kit).
// Compiled against the project's C++ recorder build by pyparity/reference/openface/online.py.
#include <FaceAnalyser.h>
#include <FaceAnalyserParameters.h>
#include <pyparity_recorder.hpp>

#include <opencv2/imgcodecs.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

int main(int argc, char** argv)
{
	if (argc != 4) { std::fprintf(stderr, "usage: online_aus ROOT FRAMES SEQUENCE_NAME\n"); return 2; }
	FaceAnalysis::FaceAnalyserParameters params{std::string(argv[1])};
	FaceAnalysis::FaceAnalyser analyser(params);
	if (analyser.GetAURegNames().empty()) { std::fprintf(stderr, "no AU models under %s\n", argv[1]); return 2; }
	std::ifstream in(argv[2]);
	std::string line;
	long long index = 0;
	while (std::getline(in, line))
	{
		std::istringstream ls(line);
		std::string path; int success = 0, n = 0; double timestamp = 0;
		if (!(ls >> path >> success >> timestamp >> n)) continue;
		cv::Mat_<float> landmarks(2 * n, 1);
		for (int i = 0; i < 2 * n; ++i) ls >> landmarks(i);
		if (!ls) { std::fprintf(stderr, "frame %lld: expected %d landmark values\n", index, 2 * n); return 2; }
		cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
		if (image.empty()) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); return 2; }
		ppr::note_input_file(path);
		ppr::begin_frame(image, index, argv[3]);
		{
			PPR_SCOPE("face00");
			analyser.AddNextFrame(image, landmarks, success != 0, timestamp, true);
		}
		ppr::end();
		std::vector<std::pair<std::string, double>> reg = analyser.GetCurrentAUsReg();
		std::printf("%lld", index);
		for (const auto& au : reg) std::printf(" %s %.17g", au.first.c_str(), au.second);
		std::printf("\n");
		++index;
	}
	return index > 0 ? 0 : 2;
}
