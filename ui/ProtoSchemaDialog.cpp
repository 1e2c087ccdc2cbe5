#include "ProtoSchemaDialog.h"

#include "core/decode/FormatRegistry.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace socktap::ui {

namespace {

// A list with Add and Remove beside it.
QWidget *withButtons(QListWidget *list, QPushButton *add, QPushButton *remove)
{
    auto *box = new QWidget;
    auto *buttons = new QVBoxLayout;
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addStretch();
    auto *row = new QHBoxLayout(box);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(list, 1);
    row->addLayout(buttons);
    list->setMaximumHeight(90);
    return box;
}

const QString WireFormat = QStringLiteral("(no type: the wire format)");

} // namespace

ProtoSchemaDialog::ProtoSchemaDialog(const decode::ProtoChoice &choice, QWidget *parent)
    : QDialog(parent)
    , m_files(new QListWidget(this))
    , m_dirs(new QListWidget(this))
    , m_clientType(new QComboBox(this))
    , m_serverType(new QComboBox(this))
    , m_url(new QLineEdit(this))
    , m_errors(new QPlainTextEdit(this))
    , m_buttons(new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this))
{
    setWindowTitle(tr("Protobuf schema"));
    auto *intro =
        new QLabel(tr("Protobuf messages are decoded as these .proto files' types, under their field "
                      "names. Without files, the wire format is shown (field numbers)."),
                   this);
    intro->setWordWrap(true);
    auto *addFile = new QPushButton(tr("Add…"), this);
    auto *removeFile = new QPushButton(tr("Remove"), this);
    auto *addDir = new QPushButton(tr("Add…"), this);
    auto *removeDir = new QPushButton(tr("Remove"), this);
    m_url->setPlaceholderText(tr("optional: a regular expression over path and query, e.g. ^/feed"));
    m_url->setToolTip(
        tr("Sessions whose path and query match are decoded as protobuf with these types. "
           "Empty: the sessions decoded as protobuf by their subprotocol, content or Decode as."));
    m_errors->setReadOnly(true);
    m_errors->setMaximumHeight(80);
    m_errors->setPlaceholderText(tr("protoc's errors, if any"));
    auto *form = new QFormLayout;
    form->addRow(tr(".proto files"), withButtons(m_files, addFile, removeFile));
    form->addRow(tr("Import directories"), withButtons(m_dirs, addDir, removeDir));
    form->addRow(tr("Client → server type"), m_clientType);
    form->addRow(tr("Server → client type"), m_serverType);
    form->addRow(tr("URLs"), m_url);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(m_errors);
    layout->addWidget(m_buttons);

    connect(addFile, &QPushButton::clicked, this, [this] { chooseFiles(m_files, false); });
    connect(addDir, &QPushButton::clicked, this, [this] { chooseFiles(m_dirs, true); });
    connect(removeFile, &QPushButton::clicked, this, [this] {
        qDeleteAll(m_files->selectedItems());
        compile();
    });
    connect(removeDir, &QPushButton::clicked, this, [this] {
        qDeleteAll(m_dirs->selectedItems());
        compile();
    });
    for (QComboBox *box : {m_clientType, m_serverType})
        connect(box, &QComboBox::currentIndexChanged, this, [this] {
            if (!m_filling)
                compile();
        });
    connect(m_url, &QLineEdit::textChanged, this, [this] { compile(); });
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    resize(560, sizeHint().height());
    setChoice(choice);
}

QStringList ProtoSchemaDialog::items(const QListWidget *list)
{
    QStringList out;
    for (int i = 0; i < list->count(); ++i)
        out << list->item(i)->text();
    return out;
}

void ProtoSchemaDialog::chooseFiles(QListWidget *list, bool directories)
{
    const QStringList chosen = directories
        ? QStringList {QFileDialog::getExistingDirectory(this, tr("Import directory"))}
        : QFileDialog::getOpenFileNames(this, tr(".proto files"), QString(),
                                        tr("Protocol Buffers (*.proto)"));
    for (const QString &path : chosen)
        if (!path.isEmpty() && items(list).indexOf(path) < 0)
            list->addItem(path);
    compile();
}

void ProtoSchemaDialog::setChoice(const decode::ProtoChoice &choice)
{
    m_filling = true;
    m_files->clear();
    m_files->addItems(choice.files);
    m_dirs->clear();
    m_dirs->addItems(choice.importDirs);
    m_url->setText(choice.urlPattern);
    m_filling = false;
    // The types are listed by compiling; the chosen ones are picked once they are there.
    m_clientType->clear();
    m_serverType->clear();
    m_clientType->addItem(choice.clientType.isEmpty() ? WireFormat : choice.clientType);
    m_serverType->addItem(choice.serverType.isEmpty() ? WireFormat : choice.serverType);
    compile();
}

decode::ProtoChoice ProtoSchemaDialog::choice() const
{
    const auto type = [](const QComboBox *box) {
        return box->currentText() == WireFormat ? QString() : box->currentText();
    };
    return {items(m_files), items(m_dirs), type(m_clientType), type(m_serverType), m_url->text().trimmed()};
}

QString ProtoSchemaDialog::errors() const
{
    return m_errors->toPlainText();
}

void ProtoSchemaDialog::compile()
{
    if (m_filling)
        return;
    decode::ProtoChoice wanted = choice();
    QString error;
    // Compiled once: for the types listed and for the formats OK installs.
    const auto schema =
        wanted.files.isEmpty() ? nullptr : decode::ProtoSchema::load(wanted.files, wanted.importDirs, &error);
    const QStringList types = schema ? schema->messageTypes() : QStringList();
    // Refill the type lists from what compiled, keeping the choice when the schema still has it (a type
    // it lost stays listed, and the error below says so).
    m_filling = true;
    for (QComboBox *box : {m_clientType, m_serverType}) {
        const QString current = box->currentText();
        box->clear();
        box->addItem(WireFormat);
        box->addItems(types);
        if (box->findText(current) < 0)
            box->addItem(current);
        box->setCurrentText(current);
    }
    m_filling = false;
    if (schema)
        m_formats = decode::protobufFormats(schema, wanted, &error);
    else
        m_formats = error.isEmpty() ? decode::protobufFormats(wanted, &error) : nullptr; // no files
    m_errors->setPlainText(error);
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_formats != nullptr);
}

} // namespace socktap::ui
