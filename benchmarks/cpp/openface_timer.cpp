// pyparity benchmark driver (our own code, not OpenFace's): times C++ OpenFace's MTCNN face detection
// (LandmarkDetector::DetectFacesMTCNN) or landmark fit (LandmarkDetector::DetectLandmarksInImage, the
// validator included) in one process, as FaceLandmarkImg calls them.
//   openface_timer mtcnn LIST REPEATS [FaceLandmarkImg arguments, e.g. -mloc model/main_clnf_general.txt]
//   openface_timer landmarks LIST REPEATS [...]
// LIST: one input per line, "image_path" (mtcnn) or "image_path x y w h" (landmarks: the face box).
// Every input is run once untimed (OpenFace's one-off initialisation), then REPEATS passes; prints one
// line per timed call: "input_index ms" (wall time, steady clock). Models are found as FaceLandmarkImg
// finds them (FaceModelParameters: -mloc, or model/ beside argv[0] or in the working folder).
// Built by benchmarks/cpp_reference.py against the project's C++ recorder build (its static libraries).
#include <LandmarkCoreIncludes.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

static double now_ms()
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char** argv)
{
	if (argc < 4) { std::fprintf(stderr, "usage: openface_timer mtcnn|landmarks LIST REPEATS [args]\n"); return 2; }
	const std::string mode = argv[1];
	const int repeats = std::atoi(argv[3]);
	std::vector<std::string> arguments{argv[0]};
	for (int i = 4; i < argc; ++i) arguments.push_back(argv[i]);
	LandmarkDetector::FaceModelParameters params(arguments);

	std::vector<cv::Mat> images;
	std::vector<cv::Rect_<double>> boxes;
	std::ifstream in(argv[2]);
	std::string line;
	while (std::getline(in, line))
	{
		std::istringstream ls(line);
		std::string path;
		if (!(ls >> path)) continue;
		cv::Mat img = cv::imread(path, cv::IMREAD_COLOR);
		if (img.empty()) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); return 2; }
		images.push_back(img);
		double x = 0, y = 0, w = 0, h = 0;
		ls >> x >> y >> w >> h;
		boxes.emplace_back(x, y, w, h);
	}

	if (mode == "mtcnn")
	{
		LandmarkDetector::FaceDetectorMTCNN detector(params.mtcnn_face_detector_location);
		if (detector.empty()) { std::fprintf(stderr, "no MTCNN model at %s\n", params.mtcnn_face_detector_location.c_str()); return 2; }
		std::vector<cv::Rect_<float>> regions;
		std::vector<float> confidences;
		for (auto& img : images) LandmarkDetector::DetectFacesMTCNN(regions, img, detector, confidences);
		for (int r = 0; r < repeats; ++r)
			for (size_t i = 0; i < images.size(); ++i)
			{
				double t0 = now_ms();
				LandmarkDetector::DetectFacesMTCNN(regions, images[i], detector, confidences);
				std::printf("%zu %.4f\n", i, now_ms() - t0);
			}
	}
	else if (mode == "landmarks")
	{
		LandmarkDetector::CLNF model(params.model_location);
		if (!model.loaded_successfully) { std::fprintf(stderr, "no landmark model at %s\n", params.model_location.c_str()); return 2; }
		std::vector<cv::Mat> grays(images.size());
		for (size_t i = 0; i < images.size(); ++i) cv::cvtColor(images[i], grays[i], cv::COLOR_BGR2GRAY);
		for (size_t i = 0; i < images.size(); ++i)
			LandmarkDetector::DetectLandmarksInImage(images[i], boxes[i], model, params, grays[i]);
		for (int r = 0; r < repeats; ++r)
			for (size_t i = 0; i < images.size(); ++i)
			{
				double t0 = now_ms();
				LandmarkDetector::DetectLandmarksInImage(images[i], boxes[i], model, params, grays[i]);
				std::printf("%zu %.4f\n", i, now_ms() - t0);
			}
	}
	else { std::fprintf(stderr, "unknown mode %s\n", mode.c_str()); return 2; }
	return 0;
}
