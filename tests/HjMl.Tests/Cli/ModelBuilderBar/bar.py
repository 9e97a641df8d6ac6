#!/usr/bin/python3
"""Issue 18's bar: on categorical CSVs with empty cells the project never saw, `hjml train --data f.csv --label L` with
no other option is within 2 points of a gradient-boosting peer on one-hot features, on a held-out 30%.

Usage: /usr/bin/python3 tests/HjMl.Tests/Cli/ModelBuilderBar/bar.py <adult.csv> <work folder>
(needs numpy and sklearn; builds nothing: run `dotnet build src/HjMl.Cli -c Release` first.)

Two shapes, both made here from public data with a fixed seed:
  adult-blank: UCI Adult (6 numeric, 8 categorical columns), 5% of the feature cells blanked at random on top of its own
               empty cells, label as '>50K'/'<=50K', CRLF line ends; 70/30 split.
  cancer-words: breast_cancer's 30 measurements binned into quartile words (all categorical), 8% of cells blanked,
               label 'malignant'/'benign', semicolon-separated, every field quoted, UTF-8 with a byte-order mark; 70/30.
The peer is sklearn's HistGradientBoostingClassifier (random_state 0) on one-hot columns of the categories seen in
training (an empty category cell is all zeros; empty numbers stay NaN, which it handles natively).
"""
import csv, os, random, subprocess, sys
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
HJML = ['dotnet', os.path.join(ROOT, 'src', 'HjMl.Cli', 'bin', 'Release', 'net10.0', 'HjMl.Cli.dll')]


def write(path, header, rows, delimiter=',', quoting=csv.QUOTE_MINIMAL, encoding='utf-8'):
    with open(path, 'w', newline='', encoding=encoding) as f:
        csv.writer(f, delimiter=delimiter, quoting=quoting, lineterminator='\r\n').writerows([header] + rows)


def adult(source, folder):
    random.seed(18)
    rows = list(csv.reader(open(source)))
    header, data = rows[0], rows[1:]
    for r in data:
        for i in range(len(r) - 1):
            if random.random() < 0.05:
                r[i] = ''
        r[-1] = '>50K' if r[-1] == '1' else '<=50K'
    random.shuffle(data)
    k = int(0.7 * len(data))
    write(os.path.join(folder, 'adult-blank-train.csv'), header, data[:k])
    write(os.path.join(folder, 'adult-blank-test.csv'), header, data[k:])
    return 'adult-blank', 'Label', ','


def cancer(folder):
    random.seed(7)
    rows = list(csv.reader(open(os.path.join(ROOT, 'data', 'breast_cancer.csv'))))
    header, data = rows[0], rows[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in data])
    q = np.quantile(x, [0.25, 0.5, 0.75], axis=0)
    words = ['low', 'mid-low', 'mid-high', 'high']
    out = []
    for r, row in zip(data, x):
        cells = [words[int(np.searchsorted(q[:, j], row[j]))] if random.random() > 0.08 else '' for j in range(len(row))]
        out.append(cells + ['benign' if r[-1] == '1' else 'malignant'])
    random.shuffle(out)
    k = int(0.7 * len(out))
    head = header[:-1] + ['Diagnosis']
    for name, part in (('train', out[:k]), ('test', out[k:])):
        write(os.path.join(folder, f'cancer-words-{name}.csv'), head, part, ';', csv.QUOTE_ALL, 'utf-8-sig')
    return 'cancer-words', 'Diagnosis', ';'


def read(path, delimiter):
    with open(path, newline='', encoding='utf-8-sig') as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    return rows[0], rows[1:]


def peer(train, test, label, delimiter):
    header, tr = read(train, delimiter)
    _, te = read(test, delimiter)
    li = header.index(label)
    columns = [i for i in range(len(header)) if i != li]

    def number(v):
        try:
            float(v)
            return True
        except ValueError:
            return v == ''
    numeric = [i for i in columns if all(number(r[i]) for r in tr)]
    categories = {i: sorted({r[i] for r in tr if r[i] != ''}) for i in columns if i not in numeric}

    def features(r):
        f = [float(r[i]) if r[i] != '' else np.nan for i in numeric]
        for i, values in categories.items():
            f += [1.0 if r[i] == v else 0.0 for v in values]
        return f
    model = HistGradientBoostingClassifier(random_state=0).fit(np.array([features(r) for r in tr]), [r[li] for r in tr])
    return float(np.mean(model.predict(np.array([features(r) for r in te])) == np.array([r[li] for r in te]))), len(te)


def hjml(folder, name, label, delimiter):
    train, test = (os.path.join(folder, f'{name}-{p}.csv') for p in ('train', 'test'))
    model, predictions = os.path.join(folder, name + '.zip'), os.path.join(folder, name + '-predictions.csv')
    subprocess.run(HJML + ['train', '--data', train, '--label', label, '--out', model], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(HJML + ['predict', '--model', model, '--data', test, '--out', predictions], check=True, stdout=subprocess.DEVNULL)
    predicted = [r[2] for r in list(csv.reader(open(predictions)))[1:]]
    header, rows = read(test, delimiter)
    truth = [r[header.index(label)] for r in rows]
    return float(np.mean(np.array(predicted) == np.array(truth)))


if __name__ == '__main__':
    source, folder = sys.argv[1], sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    for name, label, delimiter in (adult(source, folder), cancer(folder)):
        ours = hjml(folder, name, label, delimiter)
        theirs, rows = peer(os.path.join(folder, f'{name}-train.csv'), os.path.join(folder, f'{name}-test.csv'), label, delimiter)
        print(f'{name}: hjml train --data {name}-train.csv --label {label}: test accuracy {ours:.4f}; '
              f'sklearn HistGradientBoosting on one-hot: {theirs:.4f}; gap {100 * (theirs - ours):.2f} points ({rows} test rows)')
