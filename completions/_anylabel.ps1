
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'anylabel' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'anylabel'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'anylabel' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'List the images a run would label: recursive, sorted, common image extensions in any case')
            [CompletionResult]::new('preload', 'preload', [CompletionResultType]::ParameterValue, 'Read, hash and decode every image ahead of a run, listing the ones that will not decode')
            [CompletionResult]::new('infer', 'infer', [CompletionResultType]::ParameterValue, 'Label images with a detection model and write one JSON record per image')
            [CompletionResult]::new('nms', 'nms', [CompletionResultType]::ParameterValue, 'Run non-maximum suppression on a CSV of boxes, or again on a results file at another IoU')
            [CompletionResult]::new('filter', 'filter', [CompletionResultType]::ParameterValue, 'Select records by class, confidence, count and box area (flags, rule files, presets)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write records as YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images or an HTML gallery')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Turn a YOLO, COCO, Pascal VOC or LabelMe dataset into result records')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure inference, I/O, NMS, filter and cache speed on this machine; compare with a baseline')
            [CompletionResult]::new('runtime', 'runtime', [CompletionResultType]::ParameterValue, 'Find ONNX Runtime, or install the official build (CPU or GPU) from PyPI')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check this machine: ONNX Runtime and its providers, GPUs and driver, CUDA, cuDNN and TensorRT libraries, the cache')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'The built-in model catalogue: list, fetch, path')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'The result cache (~/.anylabeling/cache.db): stats, verify, prune, clear')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Join the outputs (or the result caches) of `--shard K/N` runs into one')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Defaults for settings in ~/.anylabeling/config.toml: get, set, unset, list, path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;scan' {
            [CompletionResult]::new('--from-file', '--from-file', [CompletionResultType]::ParameterName, 'Also read the paths listed in this file (one a line, or NUL-separated)')
            [CompletionResult]::new('--max-depth', '--max-depth', [CompletionResultType]::ParameterName, 'Descend at most N folders below each folder given (1: its own files only)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. ''*_thumb.jpg'' or ''cache''. Repeatable')
            [CompletionResult]::new('--ext', '--ext', [CompletionResultType]::ParameterName, 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('--follow-links', '--follow-links', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('-0', '-0', [CompletionResultType]::ParameterName, 'Separate paths with NUL instead of newline (for `xargs -0`; names may hold newlines)')
            [CompletionResult]::new('--print0', '--print0', [CompletionResultType]::ParameterName, 'Separate paths with NUL instead of newline (for `xargs -0`; names may hold newlines)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;preload' {
            [CompletionResult]::new('--from-file', '--from-file', [CompletionResultType]::ParameterName, 'Also read the paths listed in this file (one a line, or NUL-separated)')
            [CompletionResult]::new('--max-depth', '--max-depth', [CompletionResultType]::ParameterName, 'Descend at most N folders below each folder given (1: its own files only)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. ''*_thumb.jpg'' or ''cache''. Repeatable')
            [CompletionResult]::new('--ext', '--ext', [CompletionResultType]::ParameterName, 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Also report how many images already have results for this model in the cache')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Also report how many images already have results for this model in the cache')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)')
            [CompletionResult]::new('--imgsz', '--imgsz', [CompletionResultType]::ParameterName, 'With --model: the input size the results would be at')
            [CompletionResult]::new('--iou', '--iou', [CompletionResultType]::ParameterName, 'With --model: the NMS IoU the results would be at')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Threads that read and decode (0: one per CPU)')
            [CompletionResult]::new('--max-pixels', '--max-pixels', [CompletionResultType]::ParameterName, 'Images with more pixels than this count as undecodable, as in `infer`')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('--follow-links', '--follow-links', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('--agnostic', '--agnostic', [CompletionResultType]::ParameterName, 'With --model: results of class-agnostic NMS')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;infer' {
            [CompletionResult]::new('--from-file', '--from-file', [CompletionResultType]::ParameterName, 'Also read the paths listed in this file (one a line, or NUL-separated)')
            [CompletionResult]::new('--max-depth', '--max-depth', [CompletionResultType]::ParameterName, 'Descend at most N folders below each folder given (1: its own files only)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Leave out files and folders matching this glob (against the path below the folder given, and against the name alone), e.g. ''*_thumb.jpg'' or ''cache''. Repeatable')
            [CompletionResult]::new('--ext', '--ext', [CompletionResultType]::ParameterName, 'Pick up only files with these extensions (any case), instead of the common image ones: --ext jpg,png')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'The model: a .onnx file, a model config .yaml, or a catalogue name')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'The model: a .onnx file, a model config .yaml, or a catalogue name')
            [CompletionResult]::new('--imgsz', '--imgsz', [CompletionResultType]::ParameterName, 'Input size: N for N×N, or H,W. Default: the model''s fixed size, else the config''s, else 640')
            [CompletionResult]::new('--conf', '--conf', [CompletionResultType]::ParameterName, 'Keep detections with a score above this. Default: the config''s, else 0.25')
            [CompletionResult]::new('--iou', '--iou', [CompletionResultType]::ParameterName, 'IoU above which NMS drops the lower-scoring box. Default: the config''s, else 0.45')
            [CompletionResult]::new('--max-det', '--max-det', [CompletionResultType]::ParameterName, 'At most this many detections per image')
            [CompletionResult]::new('--classes', '--classes', [CompletionResultType]::ParameterName, 'Keep only these classes: names or ids, comma-separated. Default: the config''s filter_classes')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Images per inference call, where the model''s batch size is not fixed')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Inference threads (0: one per physical core, ONNX Runtime''s choice)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Decode threads (0: one per CPU)')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'Images decoded ahead of inference (default: two batches, and at least two per decode thread)')
            [CompletionResult]::new('--max-pixels', '--max-pixels', [CompletionResultType]::ParameterName, 'Refuse images with more pixels than this, before decoding them (decompression bombs)')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)')
            [CompletionResult]::new('--precision', '--precision', [CompletionResultType]::ParameterName, 'TensorRT''s precision (--backend trt, or auto when it picks TensorRT)')
            [CompletionResult]::new('--calib', '--calib', [CompletionResultType]::ParameterName, 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/')
            [CompletionResult]::new('--preprocess', '--preprocess', [CompletionResultType]::ParameterName, 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU''s), straight into the tensor the model reads through ONNX Runtime''s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads')
            [CompletionResult]::new('--decode', '--decode', [CompletionResultType]::ParameterName, 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV''s imdecode gives. gpu: NVIDIA''s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo''s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the records to this file (atomically, when the run ends) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the records to this file (atomically, when the run ends) instead of stdout')
            [CompletionResult]::new('--shard', '--shard', [CompletionResultType]::ParameterName, 'Take only shard K of N (K from 0): the images whose path hashes to K. N runs with K = 0..N-1 share the images out, disjoint and stable. `auto` reads K and N from a Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, and ANYLABEL_SHARDS for N)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Also write the run''s summary as one JSON object to PATH (- for stdout, when the records go to a file with -o): images, failed, detections, cache hits, seconds per stage, the exit code')
            [CompletionResult]::new('-L', '-L ', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('--follow-links', '--follow-links', [CompletionResultType]::ParameterName, 'Follow links to folders (a link that leads back to a folder above is reported, not followed)')
            [CompletionResult]::new('--agnostic', '--agnostic', [CompletionResultType]::ParameterName, 'Let boxes of different classes suppress each other in NMS')
            [CompletionResult]::new('--exact-decode', '--exact-decode', [CompletionResultType]::ParameterName, 'Decode every JPEG at full size. By default a JPEG at least three times the size it is letterboxed to (1920 pixels wide for a 640 model) is decoded at 1/2, 1/4 or 1/8 of its size by libjpeg-turbo''s scaled IDCT, keeping it at least 1.5 times that size: a 12-megapixel photo decodes 2-3× faster. With this flag the pixels are exactly OpenCV''s imdecode + resize, as they always are for smaller images')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Neither read nor write the result cache (~/.anylabeling/cache.db, or ANYLABEL_CACHE; ANYLABEL_CACHE=off is the same as this flag)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;nms' {
            [CompletionResult]::new('--iou', '--iou', [CompletionResultType]::ParameterName, 'Drop a box whose IoU with a kept box is above this')
            [CompletionResult]::new('--conf', '--conf', [CompletionResultType]::ParameterName, 'Drop boxes with a score at or below this first')
            [CompletionResult]::new('--max-det', '--max-det', [CompletionResultType]::ParameterName, 'Keep at most this many boxes (per record for results). Default: no limit')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print the kept rows of a CSV')
            [CompletionResult]::new('--agnostic', '--agnostic', [CompletionResultType]::ParameterName, 'Let boxes of different classes suppress each other')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;filter' {
            [CompletionResult]::new('--class', '--class', [CompletionResultType]::ParameterName, 'Detections of any of these classes (names or ids, comma-separated)')
            [CompletionResult]::new('--all-classes', '--all-classes', [CompletionResultType]::ParameterName, 'Detections of each of these classes: the count applies to every class on its own')
            [CompletionResult]::new('--no-class', '--no-class', [CompletionResultType]::ParameterName, 'No selected detection of these classes')
            [CompletionResult]::new('--min-conf', '--min-conf', [CompletionResultType]::ParameterName, 'Select detections scoring at least this')
            [CompletionResult]::new('--max-conf', '--max-conf', [CompletionResultType]::ParameterName, 'Select detections scoring at most this')
            [CompletionResult]::new('--min-count', '--min-count', [CompletionResultType]::ParameterName, 'At least N selected detections (default 1)')
            [CompletionResult]::new('--max-count', '--max-count', [CompletionResultType]::ParameterName, 'At most N selected detections (from 0 when --min-count is not given)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exactly N selected detections')
            [CompletionResult]::new('--min-area', '--min-area', [CompletionResultType]::ParameterName, 'Select boxes of at least this area: a fraction of the image (0.01), 1%, or 500px')
            [CompletionResult]::new('--max-area', '--max-area', [CompletionResultType]::ParameterName, 'Select boxes of at most this area: a fraction of the image (0.1), 10%, or 5000px')
            [CompletionResult]::new('--rules', '--rules', [CompletionResultType]::ParameterName, 'A rule file (JSON; see docs/filter.md)')
            [CompletionResult]::new('--preset', '--preset', [CompletionResultType]::ParameterName, 'A saved rule: ~/.anylabeling/presets/NAME.json')
            [CompletionResult]::new('--save-preset', '--save-preset', [CompletionResultType]::ParameterName, 'Save the rule the flags, --rules and --preset describe as preset NAME')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'What a matching record keeps: all its detections, or those that made it match')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file (atomically, when the run ends) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file (atomically, when the run ends) instead of stdout')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that parse records (0: one per CPU)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Threads that parse records (0: one per CPU)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Label the inputs with this model first (as `infer`, through the result cache)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Label the inputs with this model first (as `infer`, through the result cache)')
            [CompletionResult]::new('--imgsz', '--imgsz', [CompletionResultType]::ParameterName, 'As `infer --imgsz`')
            [CompletionResult]::new('--conf', '--conf', [CompletionResultType]::ParameterName, 'As `infer --conf`: the detections labelling keeps (--min-conf then selects among them)')
            [CompletionResult]::new('--iou', '--iou', [CompletionResultType]::ParameterName, 'As `infer --iou`')
            [CompletionResult]::new('--max-det', '--max-det', [CompletionResultType]::ParameterName, 'As `infer --max-det`')
            [CompletionResult]::new('--classes', '--classes', [CompletionResultType]::ParameterName, 'As `infer --classes`')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'As `infer --batch`')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'As `infer --workers`')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)')
            [CompletionResult]::new('--precision', '--precision', [CompletionResultType]::ParameterName, 'TensorRT''s precision (--backend trt, or auto when it picks TensorRT)')
            [CompletionResult]::new('--calib', '--calib', [CompletionResultType]::ParameterName, 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/')
            [CompletionResult]::new('--preprocess', '--preprocess', [CompletionResultType]::ParameterName, 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU''s), straight into the tensor the model reads through ONNX Runtime''s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads')
            [CompletionResult]::new('--decode', '--decode', [CompletionResultType]::ParameterName, 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV''s imdecode gives. gpu: NVIDIA''s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo''s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU')
            [CompletionResult]::new('--list-presets', '--list-presets', [CompletionResultType]::ParameterName, 'List the saved presets and their rules, and exit')
            [CompletionResult]::new('--paths', '--paths', [CompletionResultType]::ParameterName, 'Print only the paths of the matching images')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print images read and matched, and detections per class in the matched set, on stdout (records then go only to -o)')
            [CompletionResult]::new('--agnostic', '--agnostic', [CompletionResultType]::ParameterName, 'As `infer --agnostic`')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'As `infer --no-cache`')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;export' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The output format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The output: a file (- for stdout) for txt, json, jsonl, csv and coco; a folder for yolo, voc and labelme')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The output: a file (- for stdout) for txt, json, jsonl, csv and coco; a folder for yolo, voc and labelme')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'The folder the records'' paths are relative to: the folder that was scanned')
            [CompletionResult]::new('--beside-images', '--beside-images', [CompletionResultType]::ParameterName, 'labelme: write each JSON file beside its image (under --root) instead of into OUT')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'labelme: replace label files that another tool saved (a review in AnyLabeling or X-AnyLabeling, say). By default they are kept as they are, and counted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;import' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The dataset''s format')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The dataset''s format')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'yolo: the images'' folder (default: data.yaml''s train/val/test). labelme: the folder the records'' paths are relative to (an export''s --root), each found from imagePath')
            [CompletionResult]::new('--classes', '--classes', [CompletionResultType]::ParameterName, 'voc, labelme: a class list, one name a line; line N is class N')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the records to this file (atomically) instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the records to this file (atomically) instead of stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;bench' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write the report as JSON to FILE (`-`: stdout, and the table goes to stderr)')
            [CompletionResult]::new('--report', '--report', [CompletionResultType]::ParameterName, 'Write report.json, report.md and report.html (with charts) into DIR')
            [CompletionResult]::new('--baseline', '--baseline', [CompletionResultType]::ParameterName, 'Compare with the JSON report of an earlier run; figures more than PCT worse are listed')
            [CompletionResult]::new('--fail-on-regression', '--fail-on-regression', [CompletionResultType]::ParameterName, 'With --baseline: the percentage a figure may get worse (default 10); exit with 4 when one got worse by more, and with 1 when the baseline has none of the figures')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Take the figures from a JSON report written earlier instead of measuring (to compare saved reports, or to render one with --report)')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'For infer and cache: a model file, config or catalogue name')
            [CompletionResult]::new('--images', '--images', [CompletionResultType]::ParameterName, 'For io, infer and cache: the images to measure on')
            [CompletionResult]::new('--imgsz', '--imgsz', [CompletionResultType]::ParameterName, 'For infer and cache: the model''s input size (square), when it is not fixed')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'For infer: the batch sizes to measure throughput at (default 1,2,4, and 8,16 without --quick)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'For infer and cache: as `infer --threads` (ONNX Runtime''s intra-op threads; 0: its choice, one per physical core)')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'For infer and cache: as `infer --workers` (decode threads; 0: one per CPU)')
            [CompletionResult]::new('--backend', '--backend', [CompletionResultType]::ParameterName, 'Where the model runs. An explicit backend that cannot start is an error that says why and what to install (`anylabel doctor` checks the machine); it never falls back to the CPU')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'The GPU to run on, by index as `nvidia-smi` lists them (after CUDA_VISIBLE_DEVICES)')
            [CompletionResult]::new('--precision', '--precision', [CompletionResultType]::ParameterName, 'TensorRT''s precision (--backend trt, or auto when it picks TensorRT)')
            [CompletionResult]::new('--calib', '--calib', [CompletionResultType]::ParameterName, 'With --precision int8: a folder of images like those to label (a few hundred; at most 1000 are used) to measure the ranges TensorRT quantizes to. The table is made on the CPU, once per model, size and image set, and kept under ~/.anylabeling/trt/calib/')
            [CompletionResult]::new('--preprocess', '--preprocess', [CompletionResultType]::ParameterName, 'Where images are letterboxed. gpu: on the GPU the model runs on, by our CUDA kernel (bit-identical to the CPU''s), straight into the tensor the model reads through ONNX Runtime''s I/O binding, while the model runs the batch before; the decode threads only decode. auto: gpu when the model runs on a GPU and the kernel starts there, else the CPU (with a warning when the kernel cannot start); cpu: the decode threads')
            [CompletionResult]::new('--decode', '--decode', [CompletionResultType]::ParameterName, 'Where JPEGs are decoded. cpu: libjpeg-turbo on the decode threads, the pixels OpenCV''s imdecode gives. gpu: NVIDIA''s nvJPEG on the GPU the model runs on (the Huffman decoding stays on the decode threads, the rest runs on the GPU, and the pixels never cross the bus); it needs the GPU letterbox and libnvjpeg.so.13 (`pip install "nvidia-nvjpeg==13.*"` or the CUDA toolkit). Its pixels differ from libjpeg-turbo''s by a few grey levels, so its results are cached apart. JPEGs it does not take as they are (grayscale, CMYK, turned by EXIF, large ones decoded reduced) and other formats are decoded on the CPU')
            [CompletionResult]::new('--quick', '--quick', [CompletionResultType]::ParameterName, 'Fewer repeats and smaller inputs: seconds instead of minutes, noisier figures')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'anylabel;runtime' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;runtime;install' {
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'The GPU build (onnxruntime-gpu, 256 MB): the CUDA and TensorRT providers')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;runtime;path' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;runtime;help' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;runtime;help;install' {
            break
        }
        'anylabel;runtime;help;path' {
            break
        }
        'anylabel;runtime;help;help' {
            break
        }
        'anylabel;doctor' {
            [CompletionResult]::new('--require-gpu', '--require-gpu', [CompletionResultType]::ParameterName, 'Exit with 5 unless this GPU backend can start (cuda, or trt)')
            [CompletionResult]::new('--device', '--device', [CompletionResultType]::ParameterName, 'The GPU to check, as infer --device')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the report as one JSON object on stdout')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;models' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the catalogue, with each model''s licence and whether it is fetched')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Fetch catalogue models (sha256-checked) so that later runs work offline')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where a catalogue model is (fetching it first unless --offline)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;models;list' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;models;fetch' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;models;path' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;models;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the catalogue, with each model''s licence and whether it is fetched')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Fetch catalogue models (sha256-checked) so that later runs work offline')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where a catalogue model is (fetching it first unless --offline)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;models;help;list' {
            break
        }
        'anylabel;models;help;fetch' {
            break
        }
        'anylabel;models;help;path' {
            break
        }
        'anylabel;models;help;help' {
            break
        }
        'anylabel;cache' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Where the cache is, its size, what it holds, and its hit rate since it was created')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the cache''s integrity (SQLite''s integrity_check, and every stored result)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Delete everything in the cache')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the cache file''s path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;cache;stats' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;cache;verify' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;cache;prune' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'max-size')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;cache;clear' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;cache;path' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;cache;help' {
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Where the cache is, its size, what it holds, and its hit rate since it was created')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the cache''s integrity (SQLite''s integrity_check, and every stored result)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Delete everything in the cache')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the cache file''s path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;cache;help;stats' {
            break
        }
        'anylabel;cache;help;verify' {
            break
        }
        'anylabel;cache;help;prune' {
            break
        }
        'anylabel;cache;help;clear' {
            break
        }
        'anylabel;cache;help;path' {
            break
        }
        'anylabel;cache;help;help' {
            break
        }
        'anylabel;merge' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write: a results file (atomically; default stdout) or with --cache a cache file')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write: a results file (atomically; default stdout) or with --cache a cache file')
            [CompletionResult]::new('--root', '--root', [CompletionResultType]::ParameterName, 'Order the records as a new walk of this folder meets their paths')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'Merge result caches (SQLite files) rather than results')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a setting''s effective value (without flags); where it comes from goes to stderr')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Check VALUE as the flag would and write it to the config file')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove a setting from the config file')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Print every setting with its effective value and where it comes from')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config file''s path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;config;get' {
            [CompletionResult]::new('--show-origin', '--show-origin', [CompletionResultType]::ParameterName, 'Print `ORIGIN<TAB>VALUE` on stdout (origin: env VAR, file PATH:LINE, or built-in)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config;set' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config;unset' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config;list' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config;path' {
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only errors on stderr (no notes, no progress bar)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Print more about what happens; twice for debugging detail. RUST_LOG overrides it')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Never download anything (ONNX Runtime, catalogue models); fail and say what to do')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'anylabel;config;help' {
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a setting''s effective value (without flags); where it comes from goes to stderr')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Check VALUE as the flag would and write it to the config file')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove a setting from the config file')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Print every setting with its effective value and where it comes from')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config file''s path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;config;help;get' {
            break
        }
        'anylabel;config;help;set' {
            break
        }
        'anylabel;config;help;unset' {
            break
        }
        'anylabel;config;help;list' {
            break
        }
        'anylabel;config;help;path' {
            break
        }
        'anylabel;config;help;help' {
            break
        }
        'anylabel;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'List the images a run would label: recursive, sorted, common image extensions in any case')
            [CompletionResult]::new('preload', 'preload', [CompletionResultType]::ParameterValue, 'Read, hash and decode every image ahead of a run, listing the ones that will not decode')
            [CompletionResult]::new('infer', 'infer', [CompletionResultType]::ParameterValue, 'Label images with a detection model and write one JSON record per image')
            [CompletionResult]::new('nms', 'nms', [CompletionResultType]::ParameterValue, 'Run non-maximum suppression on a CSV of boxes, or again on a results file at another IoU')
            [CompletionResult]::new('filter', 'filter', [CompletionResultType]::ParameterValue, 'Select records by class, confidence, count and box area (flags, rule files, presets)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write records as YOLO, COCO, Pascal VOC, LabelMe, CSV, JSON, a list of images or an HTML gallery')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Turn a YOLO, COCO, Pascal VOC or LabelMe dataset into result records')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Measure inference, I/O, NMS, filter and cache speed on this machine; compare with a baseline')
            [CompletionResult]::new('runtime', 'runtime', [CompletionResultType]::ParameterValue, 'Find ONNX Runtime, or install the official build (CPU or GPU) from PyPI')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check this machine: ONNX Runtime and its providers, GPUs and driver, CUDA, cuDNN and TensorRT libraries, the cache')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'The built-in model catalogue: list, fetch, path')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'The result cache (~/.anylabeling/cache.db): stats, verify, prune, clear')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Join the outputs (or the result caches) of `--shard K/N` runs into one')
            [CompletionResult]::new('config', 'config', [CompletionResultType]::ParameterValue, 'Defaults for settings in ~/.anylabeling/config.toml: get, set, unset, list, path')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'anylabel;help;scan' {
            break
        }
        'anylabel;help;preload' {
            break
        }
        'anylabel;help;infer' {
            break
        }
        'anylabel;help;nms' {
            break
        }
        'anylabel;help;filter' {
            break
        }
        'anylabel;help;export' {
            break
        }
        'anylabel;help;import' {
            break
        }
        'anylabel;help;bench' {
            break
        }
        'anylabel;help;runtime' {
            [CompletionResult]::new('install', 'install', [CompletionResultType]::ParameterValue, 'Install the official ONNX Runtime build from PyPI into ~/.anylabeling/runtime/ (sha256-checked)')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the ONNX Runtime library anylabel uses (installing it first unless --offline)')
            break
        }
        'anylabel;help;runtime;install' {
            break
        }
        'anylabel;help;runtime;path' {
            break
        }
        'anylabel;help;doctor' {
            break
        }
        'anylabel;help;models' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the catalogue, with each model''s licence and whether it is fetched')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Fetch catalogue models (sha256-checked) so that later runs work offline')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print where a catalogue model is (fetching it first unless --offline)')
            break
        }
        'anylabel;help;models;list' {
            break
        }
        'anylabel;help;models;fetch' {
            break
        }
        'anylabel;help;models;path' {
            break
        }
        'anylabel;help;cache' {
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Where the cache is, its size, what it holds, and its hit rate since it was created')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check the cache''s integrity (SQLite''s integrity_check, and every stored result)')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Evict the least recently used results until the cache is at most SIZE (e.g. 500MB, 2GB)')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Delete everything in the cache')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the cache file''s path')
            break
        }
        'anylabel;help;cache;stats' {
            break
        }
        'anylabel;help;cache;verify' {
            break
        }
        'anylabel;help;cache;prune' {
            break
        }
        'anylabel;help;cache;clear' {
            break
        }
        'anylabel;help;cache;path' {
            break
        }
        'anylabel;help;merge' {
            break
        }
        'anylabel;help;config' {
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Print a setting''s effective value (without flags); where it comes from goes to stderr')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Check VALUE as the flag would and write it to the config file')
            [CompletionResult]::new('unset', 'unset', [CompletionResultType]::ParameterValue, 'Remove a setting from the config file')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'Print every setting with its effective value and where it comes from')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the config file''s path')
            break
        }
        'anylabel;help;config;get' {
            break
        }
        'anylabel;help;config;set' {
            break
        }
        'anylabel;help;config;unset' {
            break
        }
        'anylabel;help;config;list' {
            break
        }
        'anylabel;help;config;path' {
            break
        }
        'anylabel;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
